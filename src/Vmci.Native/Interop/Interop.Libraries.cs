internal static partial class Interop
{
    /// <summary>The native libraries the interop declarations bind to.</summary>
    internal static class Libraries
    {
        internal const string Libc = "libc";
    }
}
