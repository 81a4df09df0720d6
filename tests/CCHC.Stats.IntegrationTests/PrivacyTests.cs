using Npgsql;

namespace CCHC.Stats.IntegrationTests;

/// <summary>No raw IP or User-Agent is ever stored or logged; X-Forwarded-For counts only from trusted proxies.</summary>
public sealed class PrivacyTests(StatsApp app)
{
    private const string ProbeIp = "203.0.113.77";
    private const string ProbeAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 ZqxProbe/9.41";

    [Fact]
    public async Task the_ip_and_user_agent_appear_in_no_table_and_no_log()
    {
        var connection = await app.Database.CreateDatabaseAsync("privacy");
        await using var service = await ServiceProcess.StartAsync(connection, settings: new Dictionary<string, string>
        {
            ["Stats__TrustedProxies"] = "127.0.0.1",
            ["Logging__LogLevel__Default"] = "Trace",
            ["Logging__LogLevel__Marten"] = "Trace",
            ["Logging__LogLevel__Wolverine"] = "Trace",
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Trace",
        });
        await service.AddSiteAsync("private", "portal.test");
        await service.AddSiteAsync("department", "department.test");
        using var client = service.Client();
        client.DefaultRequestHeaders.UserAgent.Clear();
        client.DefaultRequestHeaders.UserAgent.ParseAdd(ProbeAgent);
        client.DefaultRequestHeaders.Add("X-Forwarded-For", ProbeIp);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(202, (int)(await client.PostAsJsonAsync("/api/v1/sites/private/views", new PageViewRequest($"https://portal.test/{i}"))).StatusCode);
        }

        Assert.Equal(202, (int)(await client.PostAsJsonAsync("/api/v1/sites/department/views", new PageViewRequest("https://department.test/"))).StatusCode);

        client.DefaultRequestHeaders.Authorization = new("Bearer", StatsApp.IngestKey);
        await client.PostAsJsonAsync("/api/v1/sites/private/views:batch",
            new[] { new BatchViewItem("https://portal.test/b", null, null, DateTimeOffset.UtcNow, ProbeIp, ProbeAgent) });
        var counters = await service.ReadWithinAsync<CountersResponse>(
            $"/api/v1/sites/private/counters?asOf={Uri.EscapeDataString(DateTimeOffset.UtcNow.ToString("O"))}", connection);

        Assert.Equal(4, counters!.Day.PageViews);

        // One pseudonym for the person on both sites (the group's "one person"), made by a keyed hash of the day's salt:
        // neither the address nor the browser can be read back from it.
        await Eventually.Until(async () => (await EventRows.VisitorHashesOfSiteAsync(connection, "department")).Count == 1);
        var onPortal = await EventRows.VisitorHashesOfSiteAsync(connection, "private");
        Assert.Equal(onPortal[0], (await EventRows.VisitorHashesOfSiteAsync(connection, "department")).Single());
        Assert.Equal(onPortal[0], onPortal[2]);
        Assert.NotEqual(onPortal[0], onPortal[3]); // the batch import's visitor id names a visitor of its site, hashed apart
        Assert.Empty(await TablesContainingAsync(connection, ProbeIp, "ZqxProbe"));
        Assert.DoesNotContain(ProbeIp, service.Output);
        Assert.DoesNotContain("ZqxProbe", service.Output);
        Assert.Contains("mt_quick_append_events", service.Output); // the log did capture the appends, at Trace level
    }

    [Fact]
    public async Task a_forwarded_address_counts_only_from_a_trusted_proxy()
    {
        var trusting = await VisitorsFromTwoForwardedAddressesAsync(trustedProxies: "127.0.0.1");
        var untrusting = await VisitorsFromTwoForwardedAddressesAsync(trustedProxies: null);

        Assert.Equal(2, trusting);
        Assert.Equal(1, untrusting);
    }

    private async Task<long> VisitorsFromTwoForwardedAddressesAsync(string? trustedProxies)
    {
        var connection = await app.Database.CreateDatabaseAsync("xff");
        var settings = trustedProxies is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["Stats__TrustedProxies"] = trustedProxies };
        await using var service = await ServiceProcess.StartAsync(connection, settings: settings);
        await service.AddSiteAsync("xff", "portal.test");
        using var client = service.Client();
        foreach (var address in new[] { "198.51.100.1", "198.51.100.2" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/sites/xff/views") { Content = JsonContent.Create(new PageViewRequest("https://portal.test/")) };
            request.Headers.Add("X-Forwarded-For", address);
            (await client.SendAsync(request)).EnsureSuccessStatusCode();
        }

        var counters = await client.GetFromJsonAsync<CountersResponse>(
            $"/api/v1/sites/xff/counters?asOf={Uri.EscapeDataString(DateTimeOffset.UtcNow.ToString("O"))}");
        return counters!.Day.Visitors!.Value;
    }

    /// <summary>Every table of the database whose rows, as text, contain any of the needles.</summary>
    private static async Task<List<string>> TablesContainingAsync(string connectionString, params string[] needles)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand(
            "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')",
            connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        Assert.Contains(tables, t => t.EndsWith("mt_events"));
        var hits = new List<string>();
        foreach (var table in tables)
        {
            foreach (var needle in needles)
            {
                await using var search = new NpgsqlCommand($"SELECT count(*) FROM {table} t WHERE t::text LIKE @needle", connection);
                search.Parameters.AddWithValue("needle", $"%{needle}%");
                if ((long)(await search.ExecuteScalarAsync())! > 0)
                {
                    hits.Add($"{table} contains {needle}");
                }
            }
        }

        return hits;
    }
}
