namespace Vmci.Kestrel;

/// <summary>A listening socket that systemd passed to this process (socket activation).</summary>
public sealed class VmciActivatedSocket
{
    internal VmciActivatedSocket(int fileDescriptor, string name)
    {
        FileDescriptor = fileDescriptor;
        Name = name;
    }

    /// <summary>The descriptor, from 3 on.</summary>
    public int FileDescriptor { get; }

    /// <summary>Its name from LISTEN_FDNAMES (<c>FileDescriptorName=</c>, by default the socket unit's name), or <c>unknown</c>.</summary>
    public string Name { get; }

    /// <summary><c>fd 3 'web'</c>.</summary>
    public override string ToString() => $"fd {FileDescriptor} '{Name}'";
}
