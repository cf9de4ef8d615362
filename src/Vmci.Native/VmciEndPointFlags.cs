namespace Vmci.Native;

/// <summary>The svm_flags byte of a sockaddr_vm.</summary>
[System.Flags]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "Named after sockaddr_vm.svm_flags, like System.Net.Sockets.SocketFlags.")]
public enum VmciEndPointFlags : byte
{
    /// <summary>No flags.</summary>
    None = 0,

    /// <summary>
    /// VMADDR_FLAG_TO_HOST: send this connection to the host even though the CID is not the host's,
    /// for sibling-VM communication that the host forwards (Linux 5.10 and later).
    /// </summary>
    ToHost = 0x01,
}
