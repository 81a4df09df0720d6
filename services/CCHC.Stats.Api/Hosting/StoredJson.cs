using System.Text.Json;

namespace CCHC.Stats.Api.Hosting;

/// <summary>How to read stored events' JSON outside Marten (camelCase, as Marten writes them here).</summary>
public static class StoredJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
