using Npgsql;

namespace CCHC.Stats.IntegrationTests.Infrastructure;

/// <summary>Reads the event store behind the service's back, as an auditor with database access would.</summary>
public static class EventRows
{
    public static async Task<List<string>> UrlsOfSiteAsync(string connectionString, string siteId)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT data ->> 'url' FROM mt_events WHERE type = 'page_viewed' AND data ->> 'siteId' = @site ORDER BY seq_id", connection);
        command.Parameters.AddWithValue("site", siteId);
        var urls = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            urls.Add(reader.GetString(0));
        }

        return urls;
    }
}
