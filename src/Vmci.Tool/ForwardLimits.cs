using System;

namespace Vmci.Tool;

/// <summary>The limits of <c>vmci forward</c>: --max-connections and --idle-timeout.</summary>
internal sealed record ForwardLimits(int MaxConnections, TimeSpan IdleTimeout)
{
    private const double MaxIdleSeconds = 86_400;

    /// <summary>The checked limits, or null after printing what is wrong.</summary>
    public static ForwardLimits? Parse(int maxConnections, double idleSeconds)
    {
        if (maxConnections < 1)
        {
            Console.Error.WriteLine($"vmci forward: --max-connections {maxConnections} must be at least 1");
            return null;
        }

        if (!(idleSeconds is > 0 and <= MaxIdleSeconds))
        {
            Console.Error.WriteLine($"vmci forward: --idle-timeout {idleSeconds} must be above 0 and at most {MaxIdleSeconds} seconds (a day)");
            return null;
        }

        return new ForwardLimits(maxConnections, TimeSpan.FromSeconds(idleSeconds));
    }
}
