using System.CommandLine;
using Vmci.Tool;

var root = new RootCommand("vmci: HTTP and sockets over vsock (AF_VSOCK, VMware's VMCI sockets on Linux) from the command line.")
{
    CidCommand.Create(),
    GetCommand.Create(),
    ForwardCommand.Create(),
    GatewayCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
