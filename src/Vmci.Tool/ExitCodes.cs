namespace Vmci.Tool;

/// <summary>Exit codes, curl's where curl has one, so that scripts can tell failures apart.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int CouldNotConnect = 7;
    public const int HttpError = 22;
    public const int WriteError = 23;
    public const int TimedOut = 28;
}
