using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using System.Text.Json;
using Marten;
using Marten.Events;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CCHC.Stats.IntegrationTests;

/// <summary>Rebuilding every counter from the event store while widgets keep reading: old figures, then the same figures.</summary>
public sealed class RebuildTests(StatsApp app)
{
    [Fact]
    public async Task a_rebuild_while_serving_shows_no_zeros_and_ends_with_the_same_figures()
    {
        var connection = await app.Database.CreateDatabaseAsync("rebuild");
        await using var host = app.Create(connection, new Dictionary<string, string?>());
        using var admin = StatsApp.ClientOf(host, StatsApp.AdminKey);
        (await admin.PutAsJsonAsync("/api/v1/sites/rb", new SiteRequest("Rebuild", null, ["portal.test"], null))).EnsureSuccessStatusCode();
        var figures = new BaselineFigures(5, 50, 500, 5000, 50000);
        (await admin.PostAsJsonAsync("/api/v1/sites/rb/baseline", new BaselineRequest(DateTimeOffset.UtcNow.AddDays(-30), figures, figures))).EnsureSuccessStatusCode();

        // Twenty days of history by 300 visitors, and some views today.
        using var ingest = StatsApp.ClientOf(host, StatsApp.IngestKey);
        var random = new Random(11);
        var start = DateTimeOffset.UtcNow.AddDays(-20);
        for (var chunk = 0; chunk < 4; chunk++)
        {
            var items = Enumerable.Range(0, 5000).Select(_ => new BatchViewItem("https://portal.test/", null, null,
                start.AddMinutes(random.Next(0, 20 * 24 * 60 - 60)), $"v{random.Next(300)}", null));
            (await ingest.PostAsJsonAsync("/api/v1/sites/rb/views:batch", items)).EnsureSuccessStatusCode();
        }

        // Articles read from search and social sites over the same days, one of them with a legacy total: every dimension
        // has months, years and all time to rebuild.
        string[] referrers = ["https://www.google.com/search?q=tin", "https://zalo.me/", "https://baomoi.com/", ""];
        (await ingest.PostAsJsonAsync("/api/v1/sites/rb/views:batch", Enumerable.Range(0, 3000).Select(_ =>
            new BatchViewItem($"https://portal.test/tin/{random.Next(50)}", referrers[random.Next(referrers.Length)] is { Length: > 0 } r ? r : null, null,
                start.AddMinutes(random.Next(0, 20 * 24 * 60 - 60)), $"v{random.Next(300)}", null)))).EnsureSuccessStatusCode();
        (await admin.PostAsJsonAsync("/api/v1/sites/rb/pages:baseline",
            new PageBaselineRequest(start, [new PageBaselineItem("https://portal.test/tin/7", 900)]))).EnsureSuccessStatusCode();

        using var reader = StatsApp.ClientOf(host, null);
        for (var i = 0; i < 20; i++)
        {
            (await reader.PostAsJsonAsync("/api/v1/sites/rb/views", new PageViewRequest($"https://portal.test/today/{i}"))).EnsureSuccessStatusCode();
        }

        await host.Services.GetRequiredService<IDocumentStore>().WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        var before = await StableLiveAsync(reader);
        var storedBefore = await StoredCountsAsync(connection);
        var moment = DateTimeOffset.UtcNow.AddDays(-3);
        var beforeAsOf = await reader.GetFromJsonAsync<CountersResponse>($"/api/v1/sites/rb/counters?asOf={Uri.EscapeDataString(moment.ToString("O"))}");
        Assert.True(before.Total.PageViews > 20_000);
        const string home = "/api/v1/sites/rb/pages/views?url=https%3A%2F%2Fportal.test%2F";
        var homeBefore = (await reader.GetFromJsonAsync<PageViewsResponse>(home))!.Total.PageViews;
        Assert.Equal(20_000, homeBefore);

        var started = await admin.PostAsync("/api/v1/admin/rebuild", null);
        var again = await admin.PostAsync("/api/v1/admin/rebuild", null);

        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        var readsDuring = 0;
        JsonElement progress;
        var deadline = DateTime.UtcNow.AddMinutes(2);
        do
        {
            var during = await reader.GetFromJsonAsync<CountersResponse>("/api/v1/sites/rb/counters");
            Assert.Equal(Figures(before), Figures(during!));
            var page = await reader.GetAsync(home);
            Assert.True(page.StatusCode == HttpStatusCode.ServiceUnavailable
                        || (await page.Content.ReadFromJsonAsync<PageViewsResponse>())!.Total.PageViews == homeBefore, "a page read during the rebuild was half-counted");
            readsDuring++;
            progress = await admin.GetFromJsonAsync<JsonElement>("/api/v1/admin/rebuild");
            Assert.True(DateTime.UtcNow < deadline, "the rebuild did not finish");
        }
        while (progress.GetProperty("state").GetString() == "running");

        Assert.Equal("completed", progress.GetProperty("state").GetString());
        Assert.Equal(progress.GetProperty("totalEvents").GetInt64(), progress.GetProperty("processedEvents").GetInt64());
        Assert.True(readsDuring > 0);
        Assert.True(await ReadIndexesMadeAsync(connection), "the indexes the rebuild dropped were not made again");
        await host.Services.GetRequiredService<IDocumentStore>().WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        var after = await StableLiveAsync(reader);
        Assert.Equal(Figures(before), Figures(after));

        // Every stored count as the live projection had it, row for row: sites by hour to all time, pages and sources by
        // day (written by the replay) and by month, year and all time (summed from their days at its end).
        Assert.Equal(storedBefore, await StoredCountsAsync(connection));
        await Eventually.Until(async () => (await reader.GetAsync(home)).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(15));
        Assert.Equal(homeBefore, (await reader.GetFromJsonAsync<PageViewsResponse>(home))!.Total.PageViews);
        var afterAsOf = await reader.GetFromJsonAsync<CountersResponse>($"/api/v1/sites/rb/counters?asOf={Uri.EscapeDataString(moment.ToString("O"))}");
        Assert.Equal(Figures(beforeAsOf!), Figures(afterAsOf!));
        using var auditor = StatsApp.ClientOf(host, StatsApp.AuditorKey);
        Assert.True((await auditor.GetFromJsonAsync<JsonElement>("/api/v1/sites/rb/verify")).GetProperty("healthy").GetBoolean());

        // The projection runs on after the rebuild: a new view is counted.
        (await reader.PostAsJsonAsync("/api/v1/sites/rb/views", new PageViewRequest("https://portal.test/after"))).EnsureSuccessStatusCode();
        await Eventually.Until(async () => (await reader.GetFromJsonAsync<CountersResponse>("/api/v1/sites/rb/counters"))!.Total.PageViews == before.Total.PageViews + 1,
            TimeSpan.FromSeconds(30), "a view after the rebuild was not counted");
    }

    /// <summary>
    /// The rebuild replays up to the high-water mark it found and hands over to the live projection there: views
    /// that keep arriving meanwhile, live and imported, are each counted once, on either side of the hand-over.
    /// </summary>
    [Fact]
    public async Task views_arriving_during_a_rebuild_are_counted_once()
    {
        var connection = await app.Database.CreateDatabaseAsync("rebuildlive");
        await using var host = app.Create(connection, new Dictionary<string, string?>());
        using var admin = StatsApp.ClientOf(host, StatsApp.AdminKey);
        (await admin.PutAsJsonAsync("/api/v1/sites/rbl", new SiteRequest("Rebuild live", null, ["portal.test"], null))).EnsureSuccessStatusCode();
        using var ingest = StatsApp.ClientOf(host, StatsApp.IngestKey);
        var random = new Random(5);
        var start = DateTimeOffset.UtcNow.AddDays(-10);
        async Task ImportAsync(int count) => (await ingest.PostAsJsonAsync("/api/v1/sites/rbl/views:batch",
            Enumerable.Range(0, count).Select(_ => new BatchViewItem("https://portal.test/", null, null,
                start.AddMinutes(random.Next(0, 10 * 24 * 60)), $"v{random.Next(500)}", null)))).EnsureSuccessStatusCode();
        for (var chunk = 0; chunk < 6; chunk++)
        {
            await ImportAsync(5000);
        }

        using var reader = StatsApp.ClientOf(host, null);
        using var stop = new CancellationTokenSource();
        var sent = 0;
        var live = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                (await reader.PostAsJsonAsync("/api/v1/sites/rbl/views", new PageViewRequest($"https://portal.test/live/{sent}"))).EnsureSuccessStatusCode();
                if (Interlocked.Increment(ref sent) % 50 == 0)
                {
                    await ImportAsync(200);
                }
            }

            return sent;
        });

        Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsync("/api/v1/admin/rebuild", null)).StatusCode);
        await Eventually.Until(async () => (await admin.GetFromJsonAsync<JsonElement>("/api/v1/admin/rebuild")).GetProperty("state").GetString() == "completed",
            TimeSpan.FromSeconds(60), "the rebuild should complete");
        var sentAtCompletion = Volatile.Read(ref sent);
        await Eventually.Until(() => Volatile.Read(ref sent) >= sentAtCompletion + 100, TimeSpan.FromSeconds(30),
            "live views should go on after the hand-over");
        await stop.CancelAsync();
        var sentLive = await live;

        var store = host.Services.GetRequiredService<IDocumentStore>();
        await store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        var stored = (await EventRows.UrlsOfSiteAsync(connection, "rbl")).Count;
        Assert.True(sentLive > 0);
        Assert.Equal(30_000 + sentLive + sentLive / 50 * 200, stored);
        var counts = host.Services.GetRequiredService<CountStore>();
        var total = (await counts.ReadAsync([CountKey.Site("rbl", PeriodKind.Total, "all")], CancellationToken.None)).Values.Single();
        Assert.Equal(stored, total.PageViews);
        using var auditor = StatsApp.ClientOf(host, StatsApp.AuditorKey);
        Assert.True((await auditor.GetFromJsonAsync<JsonElement>("/api/v1/sites/rbl/verify")).GetProperty("healthy").GetBoolean());
    }

    /// <summary>
    /// A replay that fails midway leaves counts that agree with the mark the daemon carries on from: the months, years and
    /// all time of the pages and sources it wrote are summed before the daemon resumes, and once the daemon has caught up
    /// every stored count is what it was before the rebuild. Cut: a statement reading the events or writing a page; or the
    /// part of the final sum that writes the years and all time, while the months' part commits (it is not summed twice).
    /// </summary>
    [Theory]
    [InlineData("rebuildfail", "query LIKE 'SELECT seq_id, type, data::text%' OR query LIKE 'INSERT INTO public.cchc_%'")]
    [InlineData("rebuildfailsum", "query LIKE '%(VALUES (''year''%'")]
    public async Task a_rebuild_that_fails_midway_leaves_the_counts_the_daemon_carries_on_from_whole(string database, string statement)
    {
        var connection = await app.Database.CreateDatabaseAsync(database);
        await using var host = app.Create(connection, new Dictionary<string, string?>());
        using var admin = StatsApp.ClientOf(host, StatsApp.AdminKey);
        (await admin.PutAsJsonAsync("/api/v1/sites/rbf", new SiteRequest("Rebuild fails", null, ["portal.test"], null))).EnsureSuccessStatusCode();
        using var ingest = StatsApp.ClientOf(host, StatsApp.IngestKey);
        var random = new Random(17);
        var start = DateTimeOffset.UtcNow.AddDays(-40);
        string?[] referrers = ["https://www.google.com/search?q=tin", "https://zalo.me/", null];
        for (var chunk = 0; chunk < 8; chunk++)
        {
            (await ingest.PostAsJsonAsync("/api/v1/sites/rbf/views:batch", Enumerable.Range(0, 5000).Select(_ =>
                new BatchViewItem($"https://portal.test/tin/{random.Next(200)}", referrers[random.Next(referrers.Length)], null,
                    start.AddMinutes(random.Next(0, 40 * 24 * 60)), $"v{random.Next(2000)}", null)))).EnsureSuccessStatusCode();
        }

        var store = host.Services.GetRequiredService<IDocumentStore>();
        await store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        var storedBefore = await StoredCountsAsync(connection);

        await using var db = new Npgsql.NpgsqlConnection(connection);
        await db.OpenAsync();
        // The replay's statements, cut once it has written a few pages: it fails with pages written and the rest not.
        // Polled closely, as a statement lasts milliseconds.
        await using var cut = new Npgsql.NpgsqlCommand(
            $"""
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()
              AND ({statement})
              AND (SELECT last_seq_id FROM mt_event_progression WHERE name = '{CounterProjection.ShardName}') > 8000
            """, db);
        var state = "";
        for (var attempt = 0; attempt < 5 && state != "failed"; attempt++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsync("/api/v1/admin/rebuild", null)).StatusCode);
            var cutOnce = false;
            await Eventually.Until(async () =>
            {
                // Once only: the sum the failed replay then makes is a statement of the same kind, and must run.
                for (var poll = 0; poll < 200 && !cutOnce; poll++)
                {
                    cutOnce = (long)(await cut.ExecuteScalarAsync())! > 0;
                }

                state = (await admin.GetFromJsonAsync<JsonElement>("/api/v1/admin/rebuild")).GetProperty("state").GetString()!;
                return state != "running";
            }, TimeSpan.FromSeconds(60), "the rebuild should end");
        }

        Assert.Equal("failed", state);
        Assert.True(await ReadIndexesMadeAsync(connection), "the indexes the failed rebuild dropped were not made again");
        await store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(storedBefore, await StoredCountsAsync(connection));
    }

    /// <summary>
    /// A rebuild puts away from memory a site-day it has not met for ten pages, and meets it again when a late import comes
    /// for it: its visitor-days are read back from what it wrote, and its counts added to the rows it wrote, as the live
    /// projection did. Small pages (<see cref="StatsOptions.RebuildPageSize"/>) make six days of views put the first away.
    /// </summary>
    [Fact]
    public async Task a_rebuild_that_meets_again_a_day_it_put_away_counts_it_as_the_projection_did()
    {
        var connection = await app.Database.CreateDatabaseAsync("rebuildagain");
        await using var host = app.Create(connection, new Dictionary<string, string?> { ["Stats:RebuildPageSize"] = "20" });
        using var admin = StatsApp.ClientOf(host, StatsApp.AdminKey);
        (await admin.PutAsJsonAsync("/api/v1/sites/rba", new SiteRequest("Rebuild again", "Asia/Ho_Chi_Minh", ["portal.test"], null))).EnsureSuccessStatusCode();
        using var ingest = StatsApp.ClientOf(host, StatsApp.IngestKey);
        var first = new DateTimeOffset(DateTime.SpecifyKind(DateTime.UtcNow.Date.AddDays(-10).AddHours(8), DateTimeKind.Unspecified), TimeSpan.FromHours(7));
        string[] referrers = ["https://zalo.me/", ""];
        BatchViewItem View(int day, int minute, int visitor, int page) => new($"https://portal.test/tin/{page}",
            referrers[(visitor + minute) % 2] is { Length: > 0 } r ? r : null, null, first.AddDays(day).AddMinutes(minute), $"v{visitor}", null);

        // Day 0 fills two pages, days 1 to 5 fifteen more: day 0 is put away after the twelfth.
        for (var day = 0; day < 6; day++)
        {
            var views = Enumerable.Range(0, day == 0 ? 40 : 60).Select(i => View(day, i * 7, i % 12, i % 5));
            (await ingest.PostAsJsonAsync("/api/v1/sites/rba/views:batch", views)).EnsureSuccessStatusCode();
        }

        // Late views of day 0: visitors and pages it has (some visits go on, some start again), and new ones.
        var late = Enumerable.Range(0, 30).Select(i => View(0, 270 + i * 9, i % 16, i % 7));
        (await ingest.PostAsJsonAsync("/api/v1/sites/rba/views:batch", late)).EnsureSuccessStatusCode();
        await host.Services.GetRequiredService<IDocumentStore>().WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        var storedBefore = await StoredCountsAsync(connection);

        Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsync("/api/v1/admin/rebuild", null)).StatusCode);
        await Eventually.Until(async () => (await admin.GetFromJsonAsync<JsonElement>("/api/v1/admin/rebuild")).GetProperty("state").GetString() != "running",
            TimeSpan.FromSeconds(60), "the rebuild should end");

        Assert.Equal("completed", (await admin.GetFromJsonAsync<JsonElement>("/api/v1/admin/rebuild")).GetProperty("state").GetString());
        Assert.Equal(storedBefore, await StoredCountsAsync(connection));
        using var auditor = StatsApp.ClientOf(host, StatsApp.AuditorKey);
        Assert.True((await auditor.GetFromJsonAsync<JsonElement>("/api/v1/sites/rba/verify")).GetProperty("healthy").GetBoolean());
    }

    [Fact]
    public async Task a_rebuild_leaves_withdrawn_baselines_out()
    {
        var connection = await app.Database.CreateDatabaseAsync("rebuildwithdrawn");
        await using var host = app.Create(connection, new Dictionary<string, string?>());
        using var admin = StatsApp.ClientOf(host, StatsApp.AdminKey);
        (await admin.PutAsJsonAsync("/api/v1/sites/rbw", new SiteRequest("Rebuild withdrawn", null, ["portal.test"], null))).EnsureSuccessStatusCode();
        var asOf = new DateTimeOffset(2026, 11, 3, 8, 0, 0, TimeSpan.FromHours(7));
        var kept = new BaselineFigures(1, 10, 100, 1000, 10000);
        var wrong = new BaselineFigures(5, 50, 500, 5000, 50000);
        (await admin.PostAsJsonAsync("/api/v1/sites/rbw/baseline", new BaselineRequest(asOf, kept, kept))).EnsureSuccessStatusCode();
        var recorded = await (await admin.PostAsJsonAsync("/api/v1/sites/rbw/baseline", new BaselineRequest(asOf, wrong, wrong))).Content.ReadFromJsonAsync<JsonElement>();
        using var auditor = StatsApp.ClientOf(host, StatsApp.AuditorKey);
        var history = await auditor.GetStringAsync("/api/v1/sites/rbw/events");
        var sequence = history.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
            .Last(r => r.GetProperty("kind").GetString() == "baseline").GetProperty("sequence").GetInt64();
        Assert.Equal(50000, recorded.GetProperty("pageViews").GetProperty("total").GetInt64());
        (await admin.PostAsync($"/api/v1/sites/rbw/baseline/{sequence}:withdraw", null)).EnsureSuccessStatusCode();

        Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsync("/api/v1/admin/rebuild", null)).StatusCode);
        await Eventually.Until(async () => (await admin.GetFromJsonAsync<JsonElement>("/api/v1/admin/rebuild")).GetProperty("state").GetString() == "completed",
            TimeSpan.FromSeconds(60), "the rebuild should complete");

        var counts = await host.Services.GetRequiredService<CountStore>().OfSiteAsync("rbw", CancellationToken.None);
        Assert.Equal(10000, counts[CountKey.Site("rbw", PeriodKind.Total, "all")].BaselinePageViews);
        Assert.Equal(100, counts[CountKey.Site("rbw", PeriodKind.Month, "2026-11")].BaselineVisits);
        Assert.True((await auditor.GetFromJsonAsync<JsonElement>("/api/v1/sites/rbw/verify")).GetProperty("healthy").GetBoolean());
    }

    [Theory]
    [InlineData($"DROP TABLE {CountStore.Table}")]
    [InlineData($"DROP TABLE {CountStore.TitlesTable}; DELETE FROM {CountStore.Table} WHERE dimension = 'page'")]
    [InlineData($"DROP INDEX {CountStore.SourcesIndex}; DELETE FROM {CountStore.Table} WHERE dimension = 'source'")]
    [InlineData($"DROP TABLE {VisitorDayStore.Table}; CREATE TABLE mt_doc_visitor_day (id varchar PRIMARY KEY, data jsonb); DELETE FROM {CountStore.Table}")]
    [InlineData($"COMMENT ON TABLE {CountStore.Table} IS NULL; DELETE FROM {CountStore.Table} WHERE period = 'tenminutes'")]
    [InlineData($"COMMENT ON TABLE {CountStore.Table} IS NULL; DELETE FROM {CountStore.Table} WHERE period = 'tenminutes'; " +
        $"DROP INDEX {MartenTables.SiteDayIndex}; " +
        "UPDATE mt_events SET data = data || jsonb_build_object('day', left(data ->> 'occurredAt', 10)) WHERE type = 'page_viewed'; " +
        "CREATE INDEX ix_mt_events_site_day_ten_minutes_v7 ON mt_events ((data ->> 'siteId'), (data ->> 'day'), left(data ->> 'occurredAt', 15)) " +
        "WHERE type IN ('page_viewed', 'baseline_recorded', 'baseline_withdrawn', 'page_baseline_recorded', 'day_sealed')")]
    public async Task a_store_from_before_the_counts_table_or_before_pages_sources_visitor_day_rows_or_ten_minutes_is_rebuilt_by_itself_on_start(string olderVersion)
    {
        var connection = await app.Database.CreateDatabaseAsync("upgrade");
        // 08:00 at the site (+07:00) two days ago: the views' hour and a half never crosses its midnight, whenever the test
        // runs (from UtcNow itself, a run at 16:30–17:00 UTC split a visit at local midnight: 4 visits, not 3).
        var day = new DateTimeOffset(DateTimeOffset.UtcNow.UtcDateTime.Date.AddDays(-2).AddHours(1), TimeSpan.Zero);
        await using (var before = app.Create(connection, new Dictionary<string, string?>()))
        {
            using var admin = StatsApp.ClientOf(before, StatsApp.AdminKey);
            (await admin.PutAsJsonAsync("/api/v1/sites/upg", new SiteRequest("Upgrade", null, ["portal.test"], null))).EnsureSuccessStatusCode();
            using var ingest = StatsApp.ClientOf(before, StatsApp.IngestKey);
            var items = new[] { ("a", 0), ("a", 10), ("a", 90), ("b", 5) }.Select(v =>
                new BatchViewItem("https://portal.test/", v.Item2 == 90 ? "https://zalo.me/" : null, "Trang chủ", day.AddMinutes(v.Item2), v.Item1, null));
            (await ingest.PostAsJsonAsync("/api/v1/sites/upg/views:batch", items)).EnsureSuccessStatusCode();
            await before.Services.GetRequiredService<IDocumentStore>().WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        }

        // What an older version left: its counters elsewhere and no counts table, or counts without pages.
        await using (var db = new Npgsql.NpgsqlConnection(connection))
        {
            await db.OpenAsync();
            await using var drop = new Npgsql.NpgsqlCommand(olderVersion, db);
            await drop.ExecuteNonQueryAsync();
        }

        await using var after = app.Create(connection, new Dictionary<string, string?>());
        using var again = StatsApp.ClientOf(after, StatsApp.AdminKey);
        await Eventually.Until(async () => (await again.GetFromJsonAsync<JsonElement>("/api/v1/admin/rebuild")).GetProperty("state").GetString() == "completed",
            TimeSpan.FromSeconds(60), "the upgrade's rebuild should complete");
        using var reader = StatsApp.ClientOf(after, null);
        var counters = await reader.GetFromJsonAsync<CountersResponse>("/api/v1/sites/upg/counters");
        Assert.Equal((4, 3), (counters!.Total.PageViews, counters.Total.Visits));
        // As of 09:45 at the site: the hour of 08:00 and the ten minutes of 09:30 from stored counts, none raw.
        var asOf = await reader.GetFromJsonAsync<CountersResponse>(
            $"/api/v1/sites/upg/counters?asOf={Uri.EscapeDataString(day.AddMinutes(105).ToString("O"))}");
        Assert.Equal((4, 3, 2), (asOf!.Day.PageViews, asOf.Day.Visits, asOf.Day.Visitors));
        var page = await reader.GetFromJsonAsync<PageViewsResponse>($"/api/v1/sites/upg/pages/views?url={Uri.EscapeDataString("https://portal.test/")}");
        Assert.Equal((4L, "Trang chủ"), (page!.Total.PageViews, page.Title));
        var sources = await again.GetFromJsonAsync<SourcesResponse>("/api/v1/sites/upg/stats/sources?period=total");
        Assert.Equal([new SourceVisits("direct", 2), new SourceVisits("zalo", 1)], sources!.Sources);
        using var auditor = StatsApp.ClientOf(after, StatsApp.AuditorKey);
        Assert.True((await auditor.GetFromJsonAsync<JsonElement>("/api/v1/sites/upg/verify")).GetProperty("healthy").GetBoolean());
        await using var store = new Npgsql.NpgsqlConnection(connection);
        await store.OpenAsync();
        await using var older = new Npgsql.NpgsqlCommand("SELECT to_regclass('mt_doc_visitor_day') IS NULL", store);
        Assert.True((bool)(await older.ExecuteScalarAsync())!, "the visitor-day documents of older versions are dropped");
        await using var indexes = new Npgsql.NpgsqlCommand(
            $"SELECT to_regclass('ix_mt_events_site_day_ten_minutes_v7') IS NULL AND to_regclass('{MartenTables.SiteDayIndex}') IS NOT NULL", store);
        Assert.True((bool)(await indexes.ExecuteScalarAsync())!, "the site-day index of older versions is replaced by this version's");
    }

    /// <summary>Every stored count with a figure, one line each, in key order.</summary>
    /// <summary>
    /// A node refuses to start on a store a newer version has upgraded (a store version above its own), before its schema
    /// step touches anything: an event index it does not know, which its schema step would drop, is still there, and so is
    /// the newer version.
    /// </summary>
    [Fact]
    public async Task a_node_refuses_a_store_a_newer_version_has_upgraded_and_leaves_it_as_it_was()
    {
        var connection = await app.Database.CreateDatabaseAsync("newerstore");
        await using (var first = app.Create(connection, new Dictionary<string, string?>()))
        {
            _ = first.Services;
        }

        Assert.Equal(StoreVersion.Current, await ScalarAsync<int>(connection, $"SELECT version FROM {StoreVersion.Table}"));
        await ScalarAsync<object>(connection,
            $"UPDATE {StoreVersion.Table} SET version = {StoreVersion.Current + 1}; CREATE INDEX ix_mt_events_of_a_newer_version ON mt_events (seq_id)");

        var refused = await StatsApp.FailedStartAsync(connection, new Dictionary<string, string?>());
        var messages = new List<string>();
        for (Exception? e = refused; e is not null; e = e.InnerException)
        {
            messages.Add(e.Message);
        }

        Assert.Contains(messages, m => m.Contains($"upgraded by a newer version of CCHC.Stats (store version {StoreVersion.Current + 1}"));
        Assert.Equal(StoreVersion.Current + 1, await ScalarAsync<int>(connection, $"SELECT version FROM {StoreVersion.Table}"));
        Assert.True(await ScalarAsync<bool>(connection, "SELECT to_regclass('ix_mt_events_of_a_newer_version') IS NOT NULL"));
    }

    /// <summary>Whether the indexes only reads use, which a rebuild drops while it writes, are there.</summary>
    private static Task<bool> ReadIndexesMadeAsync(string connection) => ScalarAsync<bool>(connection,
        $"SELECT to_regclass('{VisitorDayStore.OnlineIndex}') IS NOT NULL AND to_regclass('{CountStore.PagesIndex}') IS NOT NULL");

    private static async Task<T> ScalarAsync<T>(string connection, string sql)
    {
        await using var db = new Npgsql.NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, db);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<List<string>> StoredCountsAsync(string connection)
    {
        await using var db = new Npgsql.NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            $"""
            SELECT concat_ws(' ', scope, dimension, key, period, period_key, page_views, visits, visitors, baseline_page_views, baseline_visits, first_visitors)
            FROM {CountStore.Table} WHERE (page_views, visits, visitors, baseline_page_views, baseline_visits, first_visitors) <> (0, 0, 0, 0, 0, 0)
            ORDER BY scope, dimension, key COLLATE "C", period, period_key
            """, db);
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }

    private static (PeriodFigures, PeriodFigures, PeriodFigures, PeriodFigures, PeriodFigures) Figures(CountersResponse c) =>
        (c.Day, c.Week, c.Month, c.Year, c.Total);

    /// <summary>Live figures once two reads a second apart agree (the refresher publishes every 200 ms here: a read a second
    /// after the projection is done is fresh).</summary>
    private static async Task<CountersResponse> StableLiveAsync(HttpClient reader)
    {
        CountersResponse current = null!;
        await Eventually.Settled(async () => Figures(current = (await reader.GetFromJsonAsync<CountersResponse>("/api/v1/sites/rb/counters"))!),
            TimeSpan.FromSeconds(15), "two reads a second apart should agree");
        return current;
    }
}
