using Npgsql;

namespace CCHC.Stats.IntegrationTests.Infrastructure;

/// <summary>Reads the event store behind the service's back, as an auditor with database access would.</summary>
public static class EventRows
{
    public static Task<List<string>> UrlsOfSiteAsync(string connectionString, string siteId) => FieldOfViewsAsync(connectionString, siteId, "url");

    /// <summary>The pseudonyms of a site's views, in the order they were recorded.</summary>
    public static Task<List<string>> VisitorHashesOfSiteAsync(string connectionString, string siteId) => FieldOfViewsAsync(connectionString, siteId, "visitorHash");

    private static async Task<List<string>> FieldOfViewsAsync(string connectionString, string siteId, string field)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT data ->> @field FROM mt_events WHERE type = 'page_viewed' AND data ->> 'siteId' = @site ORDER BY seq_id", connection);
        command.Parameters.AddWithValue("site", siteId);
        command.Parameters.AddWithValue("field", field);
        var urls = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            urls.Add(reader.GetString(0));
        }

        return urls;
    }
}
