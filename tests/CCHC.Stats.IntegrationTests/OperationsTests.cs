using System.Text;
using System.Text.Json;
using CCHC.Stats.Api.Ingestion;
using Microsoft.Playwright;
using Npgsql;
using Wolverine;
using Wolverine.Runtime.Serialization;

namespace CCHC.Stats.IntegrationTests;

public sealed class OperationsTests(StatsApp app)
{
    [Fact]
    public async Task metrics_carry_the_pipeline_and_the_stack_instruments()
    {
        // A process of its own: /metrics is what one node exports.
        await using var service = await ServiceProcess.StartAsync(await app.Database.CreateDatabaseAsync("metrics"));
        await service.AddSiteAsync("metrics", "portal.test");
        using var browser = service.Client();
        (await browser.PostAsJsonAsync("/api/v1/sites/metrics/views", new PageViewRequest("https://portal.test/"))).EnsureSuccessStatusCode();
        await browser.GetAsync("/api/v1/sites/metrics/counters");

        // The exporter caches a scrape briefly; wait for one taken after the requests above.
        var metrics = "";
        await Eventually.Until(async () => (metrics = await browser.GetStringAsync("/metrics")).Contains("cchc_counters_reads_total"));

        foreach (var name in new[]
                 {
                     "cchc_views_accepted_total", "cchc_views_ack_duration_seconds_bucket", "cchc_ingest_commit_duration_seconds_bucket",
                     "cchc_ingest_group_size_bucket", "cchc_counters_reads_total", "cchc_projection_lag_events", "cchc_projection_lag_seconds",
                     "cchc_ingest_backlog", "cchc_deadletters", "http_server_request_duration_seconds_bucket",
                 })
        {
            Assert.Contains(name, metrics);
        }

        // Durations in seconds have buckets in seconds (1 ms to 10 s), not the defaults made for milliseconds.
        Assert.Matches(@"cchc_views_ack_duration_seconds_bucket\{[^}]*le=""0\.005""", metrics);
        Assert.DoesNotMatch(@"cchc_views_ack_duration_seconds_bucket\{[^}]*le=""5000""", metrics);

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/health/ready")).StatusCode);
    }

    /// <summary>Wolverine's local queue for the message type.</summary>
    private const string LocalQueue = "local://cchc.stats.api.ingestion.recordpageviews/";

    [Fact]
    public async Task a_dead_letter_is_counted_shown_and_replayed_into_the_event_store()
    {
        var connection = await app.Database.CreateDatabaseAsync("deadletters");
        await using var service = await ServiceProcess.StartAsync(connection);
        await service.AddSiteAsync("dl", "portal.test");
        using var client = service.Client(StatsApp.AdminKey);

        // A group of views that failed in a queue (what the RabbitMQ transport can produce), written as Wolverine would.
        var now = DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(7));
        var message = RecordPageViews.Of([new PageViewed("dl", now, "visitor", "https://portal.test/lost", null, null)]);
        await using (var db = new NpgsqlConnection(connection))
        {
            await db.OpenAsync();
            await using var insert = new NpgsqlCommand(
                """
                INSERT INTO wolverine_dead_letters (id, execution_time, body, message_type, received_at, source, exception_type, exception_message, sent_at, replayable)
                VALUES (@id, NULL, @body, @type, @queue, 'test', 'Npgsql.NpgsqlException', 'the database was away', now(), false)
                """, db);
            insert.Parameters.AddWithValue("id", Guid.NewGuid());
            var envelope = new Envelope(message)
            {
                Data = JsonSerializer.SerializeToUtf8Bytes(message),
                ContentType = "application/json",
                MessageType = typeof(RecordPageViews).FullName,
                Destination = new Uri(LocalQueue),
            };
            insert.Parameters.AddWithValue("body", EnvelopeSerializer.Serialize(envelope));
            insert.Parameters.AddWithValue("queue", LocalQueue);
            insert.Parameters.AddWithValue("type", typeof(RecordPageViews).FullName!);
            await insert.ExecuteNonQueryAsync();
        }

        await Eventually.Until(async () => (await client.GetStringAsync("/metrics")).Contains("cchc_deadletters{otel_scope_name=\"CCHC.Stats\"} 1"));
        Assert.Contains("\"deadLetters\":1", await client.GetStringAsync("/api/v1/admin/dead-letters"));
        Assert.Contains("id=\"dead-letters\">Dead letters<b>1</b>", await client.GetStringAsync("/dashboard?lang=en"));
        Assert.Contains("id=\"dead-letters\">Thư lỗi (dead letters)<b>1</b>", await client.GetStringAsync("/dashboard"));
        Assert.Contains("runs the projection", await client.GetStringAsync("/dashboard?lang=en"));

        var replay = await client.PostAsync("/api/v1/admin/dead-letters:replay", null);

        Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        try
        {
            await Eventually.Until(async () => (await EventRows.UrlsOfSiteAsync(connection, "dl")).Contains("https://portal.test/lost"));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidOperationException($"{await replay.Content.ReadAsStringAsync()}\n{service.Output[^Math.Min(6000, service.Output.Length)..]}", e);
        }
    }

    [Fact]
    public async Task the_dashboard_renders_in_a_browser()
    {
        var connection = await app.Database.CreateDatabaseAsync("dashboard");
        await using var service = await ServiceProcess.StartAsync(connection, settings: new Dictionary<string, string> { ["Stats__TrafficFlushInterval"] = "00:00:00.2" });
        using (var admin = service.Client(StatsApp.AdminKey))
        {
            (await admin.PutAsJsonAsync("/api/v1/sites/dash", new SiteRequest("Dashboard <test>", null, ["portal.test"], null))).EnsureSuccessStatusCode();
        }

        using var client = service.Client();
        for (var i = 0; i < 3; i++)
        {
            (await client.PostAsJsonAsync("/api/v1/sites/dash/views", new PageViewRequest($"https://portal.test/{i}"))).EnsureSuccessStatusCode();
        }

        await client.PostAsJsonAsync("/api/v1/sites/dash/views", new PageViewRequest("https://elsewhere.example/"));
        await Eventually.Until(async () => (await client.GetFromJsonAsync<CountersResponse>("/api/v1/sites/dash/counters"))!.Day.PageViews == 3);

        var (playwright, browser) = await Browser.LaunchAsync();
        await using var _ = browser;
        using var __ = playwright;
        var page = await browser.NewPageAsync();
        await page.GotoAsync(new Uri(service.Address, "/dashboard").ToString());

        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("CCHC.Stats — vận hành");
        await Assertions.Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "vi");
        await Assertions.Expect(page.Locator("#views-chart rect")).ToHaveCountAsync(60);
        var row = page.Locator("#sites tr[data-site=dash] td");
        await Assertions.Expect(row.Nth(2)).ToHaveTextAsync("3");
        await Assertions.Expect(row.Nth(7)).ToHaveTextAsync("1"); // refused: host not allowed
        await Assertions.Expect(page.Locator("#database b")).ToHaveTextAsync("hoạt động");
        Assert.Equal("Dashboard <test>", await row.First.GetAttributeAsync("title"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(AppContext.BaseDirectory, "dashboard.png"), FullPage = true });
        await page.GotoAsync(new Uri(service.Address, "/dashboard?lang=en").ToString());
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("CCHC.Stats — operators");
    }

    /// <summary>The views the dashboard's chart shows over its hour: each bar's title ends in its figure.</summary>
    private static long AcceptedInChart(string page) =>
        System.Text.RegularExpressions.Regex.Matches(page, @"<rect [^>]*><title>\d\d:\d\d: (\d+)</title>").Sum(m => long.Parse(m.Groups[1].Value));

    /// <summary>
    /// Behind a load balancer each reload may reach another node: both nodes of one store show the same page — views per
    /// minute, counters and refusals of the whole deployment, whichever node took the views.
    /// </summary>
    [Fact]
    public async Task two_nodes_answer_the_same_dashboard()
    {
        var connection = await app.Database.CreateDatabaseAsync("dashboards");
        var settings = new Dictionary<string, string?> { ["Stats:TrafficFlushInterval"] = "00:00:00.200" };
        await using var first = app.Create(connection, settings);
        await using var second = app.Create(connection, settings);
        using (var admin = StatsApp.ClientOf(first, StatsApp.AdminKey))
        {
            (await admin.PutAsJsonAsync("/api/v1/sites/shared", new SiteRequest("Shared", null, ["portal.test"], null))).EnsureSuccessStatusCode();
        }

        using var toFirst = StatsApp.ClientOf(first, null);
        using var toSecond = StatsApp.ClientOf(second, null);
        for (var i = 0; i < 3; i++)
        {
            (await toFirst.PostAsJsonAsync("/api/v1/sites/shared/views", new PageViewRequest($"https://portal.test/{i}"))).EnsureSuccessStatusCode();
        }

        (await toSecond.PostAsJsonAsync("/api/v1/sites/shared/views", new PageViewRequest("https://portal.test/3"))).EnsureSuccessStatusCode();
        await toFirst.PostAsJsonAsync("/api/v1/sites/shared/views", new PageViewRequest("https://elsewhere.example/"));
        await toSecond.PostAsJsonAsync("/api/v1/sites/shared/views", new PageViewRequest("https://elsewhere.example/"));

        static string Main(string page) => page[page.IndexOf("<main>", StringComparison.Ordinal)..page.IndexOf("</main>", StringComparison.Ordinal)];
        string[] pages = [];
        await Eventually.Until(async () =>
        {
            pages = [Main(await toFirst.GetStringAsync("/dashboard?lang=en")), Main(await toSecond.GetStringAsync("/dashboard?lang=en"))];
            return pages[0] == pages[1] && pages[0].Contains("""<td title="Shared">shared</td><td>1</td><td>4</td>""")
                && AcceptedInChart(pages[0]) == 4;
        });

        // One reader (online 1, 4 views, 1 visit, 1 visitor); refused: bot 0, rate limited 0, host not allowed 2 — one on each node.
        Assert.Contains("""<td title="Shared">shared</td><td>1</td><td>4</td><td>1</td><td>1</td><td>0</td><td>0</td><td>2</td>""", pages[0]);
    }

}
