using System;
using System.CommandLine;
using Vmci.Native;

namespace Vmci.Tool;

/// <summary><c>vmci cid</c>: the guide's VMCISock_GetLocalCID.</summary>
internal static class CidCommand
{
    public static Command Create()
    {
        var command = new Command("cid", "Print this machine's vsock context ID (CID), read from the kernel (/dev/vsock).");
        command.SetAction(_ =>
        {
            try
            {
                Console.WriteLine(VmciPlatform.GetLocalCid());
                return ExitCodes.Success;
            }
            catch (Exception ex) when (ex is VmciSocketException or PlatformNotSupportedException)
            {
                Console.Error.WriteLine($"vmci cid: {ex.Message}");
                return ExitCodes.Failure;
            }
        });
        return command;
    }
}
