internal static partial class Interop
{
    /// <summary>The Linux errno values that vsock operations report and that we explain.</summary>
    internal static class Errno
    {
        internal const int EPERM = 1;
        internal const int ENOENT = 2;
        internal const int EACCES = 13;
        internal const int ENODEV = 19;
        internal const int ENXIO = 6;
        internal const int EAGAIN = 11;
        internal const int ENOMEM = 12;
        internal const int EINVAL = 22;
        internal const int ENOPROTOOPT = 92;
        internal const int EPROTONOSUPPORT = 93;
        internal const int ESOCKTNOSUPPORT = 94;
        internal const int EOPNOTSUPP = 95;
        internal const int EAFNOSUPPORT = 97;
        internal const int EADDRINUSE = 98;
        internal const int EADDRNOTAVAIL = 99;
        internal const int ENETUNREACH = 101;
        internal const int ECONNRESET = 104;
        internal const int ENOBUFS = 105;
        internal const int ETIMEDOUT = 110;
        internal const int ECONNREFUSED = 111;
        internal const int EHOSTUNREACH = 113;

        /// <summary>The symbolic name, for messages; null for values we do not name.</summary>
        internal static string? NameOf(int errno) => errno switch
        {
            EPERM => nameof(EPERM),
            ENOENT => nameof(ENOENT),
            EACCES => nameof(EACCES),
            ENODEV => nameof(ENODEV),
            ENXIO => nameof(ENXIO),
            EAGAIN => nameof(EAGAIN),
            ENOMEM => nameof(ENOMEM),
            EINVAL => nameof(EINVAL),
            ENOPROTOOPT => nameof(ENOPROTOOPT),
            EPROTONOSUPPORT => nameof(EPROTONOSUPPORT),
            ESOCKTNOSUPPORT => nameof(ESOCKTNOSUPPORT),
            EOPNOTSUPP => nameof(EOPNOTSUPP),
            EAFNOSUPPORT => nameof(EAFNOSUPPORT),
            EADDRINUSE => nameof(EADDRINUSE),
            EADDRNOTAVAIL => nameof(EADDRNOTAVAIL),
            ENETUNREACH => nameof(ENETUNREACH),
            ECONNRESET => nameof(ECONNRESET),
            ENOBUFS => nameof(ENOBUFS),
            ETIMEDOUT => nameof(ETIMEDOUT),
            ECONNREFUSED => nameof(ECONNREFUSED),
            EHOSTUNREACH => nameof(EHOSTUNREACH),
            _ => null,
        };
    }
}
