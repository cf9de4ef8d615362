namespace Vmci.Native;

/// <summary>What was being done when the kernel said no; the same errno means different things in each.</summary>
internal enum VmciOperation
{
    CreateStream,
    CreateSeqPacket,
    CreateDatagram,
    Bind,
    Listen,
    Connect,
    GetOption,
    SetOption,
    GetLocalCid,
    GetLocalEndPoint,
    AdoptListener,
}
