using System.Text.Json;
using System.Text.Json.Serialization;

namespace Vmci.Tool;

/// <summary>One guest as the gateway's <c>/api/guests</c> reports it: whether its web server answers, and what it said.</summary>
internal sealed record GuestState(string Guest, uint? Cid, bool Reachable, string Detail);

/// <summary>The gateway's JSON, generated at build time so that the tool also publishes as Native AOT (camelCase, as before).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(GuestState[]))]
internal sealed partial class GatewayJsonContext : JsonSerializerContext;
