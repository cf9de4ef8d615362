using System.Text.Json;
using System.Text.Json.Serialization;

namespace WebAppOverVmci;

/// <summary>
/// The dashboard's JSON, generated at build time: no reflection, so the same code runs on the JIT and as a
/// Native AOT executable. Web defaults (camelCase), as ASP.NET Core writes JSON by default.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(StatusResponse))]
[JsonSerializable(typeof(StatusSnapshot))]
internal sealed partial class DashboardJsonContext : JsonSerializerContext;
