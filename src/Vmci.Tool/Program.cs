using System.CommandLine;
using System.Threading.Tasks;

namespace Vmci.Tool;

/// <summary>The entry point of <c>vmci</c> (a named class, so it does not clash with a web app's global Program).</summary>
internal static class VmciProgram
{
    public static Task<int> Main(string[] args)
    {
        var root = new RootCommand("vmci: HTTP and sockets over vsock (AF_VSOCK, VMware's VMCI sockets on Linux) from the command line.")
        {
            CidCommand.Create(),
            NotifyCommand.Create(),
            WaitReadyCommand.Create(),
            GetCommand.Create(),
            ForwardCommand.Create(),
            GatewayCommand.Create(),
        };
        // No response files: "@FILE" is curl's way to name a request body (vmci get -d @body.json).
        return root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null }).InvokeAsync();
    }
}
