internal static partial class Interop
{
    /// <summary>Linux constants from linux/socket.h, linux/net.h, linux/vm_sockets.h, fcntl.h and sys/stat.h.</summary>
    internal static class Constants
    {
        internal const int AF_VSOCK = 40;

        internal const int SOCK_STREAM = 1;
        internal const int SOCK_DGRAM = 2;
        internal const int SOCK_SEQPACKET = 5;
        internal const int SOCK_CLOEXEC = 0x80000;

        internal const int O_RDONLY = 0;
        internal const int O_CLOEXEC = 0x80000;

        // statx(2): the current directory, do not follow a final symlink; ask for the file type, or the inode.
        internal const int AT_FDCWD = -100;
        internal const int AT_SYMLINK_NOFOLLOW = 0x100;
        internal const uint STATX_TYPE = 0x1;
        internal const uint STATX_INO = 0x100;
        internal const int StatxSize = 256;
        internal const int StatxModeOffset = 0x1C;
        internal const int S_IFMT = 0xF000;
        internal const int S_IFSOCK = 0xC000;
        internal const int StatxInodeOffset = 0x20;
        internal const int StatxDevMajorOffset = 0x88;
        internal const int StatxDevMinorOffset = 0x8C;

        // flock(2).
        internal const int LOCK_EX = 2;
        internal const int LOCK_NB = 4;

        /// <summary>IOCTL_VM_SOCKETS_GET_LOCAL_CID on /dev/vsock.</summary>
        internal const uint IOCTL_VM_SOCKETS_GET_LOCAL_CID = 0x7b9;

        // Option names at level AF_VSOCK. The values are u64 unless noted.
        internal const int SO_VM_SOCKETS_BUFFER_SIZE = 0;
        internal const int SO_VM_SOCKETS_BUFFER_MIN_SIZE = 1;
        internal const int SO_VM_SOCKETS_BUFFER_MAX_SIZE = 2;
        internal const int SO_VM_SOCKETS_PEER_HOST_VM_ID = 3;
        internal const int SO_VM_SOCKETS_TRUSTED = 5;
        /// <summary>A struct timeval (the _OLD name on 64-bit kernels is the same layout).</summary>
        internal const int SO_VM_SOCKETS_CONNECT_TIMEOUT = 6;
    }
}
