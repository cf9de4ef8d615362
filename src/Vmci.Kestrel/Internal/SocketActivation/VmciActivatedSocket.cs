namespace Vmci.Kestrel.Internal;

/// <summary>A listening socket that systemd passed to this process (socket activation).</summary>
internal sealed class VmciActivatedSocket
{
    internal VmciActivatedSocket(int fileDescriptor, string name)
    {
        FileDescriptor = fileDescriptor;
        Name = name;
    }

    /// <summary>The descriptor, from 3 on.</summary>
    internal int FileDescriptor { get; }

    /// <summary>Its name from LISTEN_FDNAMES (<c>FileDescriptorName=</c>, by default the socket unit's name), or <c>unknown</c>.</summary>
    internal string Name { get; }

    /// <summary><c>fd 3 'web'</c>.</summary>
    public override string ToString() => $"fd {FileDescriptor} '{Name}'";
}
