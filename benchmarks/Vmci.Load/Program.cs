using System;
using System.IO;
using System.Linq;
using System.Text.Json;

// The load generator: the same HttpClient code for every transport, in a process of its own.
// See LoadOptions.Usage.
if (args is ["report", var input, var outputDirectory])
{
    Report.Write(File.ReadAllLines(input), outputDirectory);
    return 0;
}

if (args is [] or ["--help" or "-h"])
{
    Console.WriteLine(LoadOptions.Usage);
    return args is [] ? 2 : 0;
}

var options = LoadOptions.Parse(args);
Transports.VsockBufferSize = options.VsockBufferSize ?? Transports.VsockBufferSize;
int failed = 0;

// Every round measures every target, starting one further along each time, so that no transport is always
// the first after a warm-up or the last before a collection, and noise shows as spread between rounds.
for (int round = 0; round < options.Rounds; round++)
{
    foreach (string target in options.Targets.Skip(round % options.Targets.Length).Concat(options.Targets.Take(round % options.Targets.Length)))
    {
        if (options.Idle > 0)
        {
            failed |= await IdleConnections.MeasureAsync(options, target, options.FirstRound + round);
            continue;
        }

        var result = await new LoadRun(options, target).MeasureAsync(options.FirstRound + round);
        Console.WriteLine(JsonSerializer.Serialize(result));
        failed |= (long)result["errors"]! == 0 ? 0 : 1;
    }
}

return failed;
