using CCHC.Stats.Api.Counters;
using Marten;
using Marten.Events;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CCHC.Stats.IntegrationTests;

public sealed class CounterTests(StatsApp app)
{
    private static readonly TimeSpan Hanoi = TimeSpan.FromHours(7);

    private async Task ImportAsync(string site, params (string Visitor, DateTimeOffset At)[] views)
    {
        using var ingest = app.WithKey(StatsApp.IngestKey);
        var items = views.Select((v, i) => new BatchViewItem($"https://portal.test/p{i}", null, null, v.At, v.Visitor, null));
        var response = await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch", items);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task views_count_in_the_periods_of_the_sites_zone_across_new_year()
    {
        var site = await app.NewSiteAsync();
        await ImportAsync(site,
            ("a", new DateTimeOffset(2025, 12, 31, 23, 50, 0, Hanoi)),
            ("a", new DateTimeOffset(2026, 1, 1, 0, 10, 0, Hanoi)));

        var newYear = await app.CountersAsync(site, new DateTimeOffset(2026, 1, 1, 12, 0, 0, Hanoi));
        var eve = await app.CountersAsync(site, new DateTimeOffset(2025, 12, 31, 23, 55, 0, Hanoi));

        Assert.Equal(new PeriodFigures("2026-01-01", 1, 1, 1), newYear.Day);
        Assert.Equal(new PeriodFigures("2026-W01", 2, 2), newYear.Week);
        Assert.Equal(new PeriodFigures("2026-01", 1, 1), newYear.Month);
        Assert.Equal(new PeriodFigures("2026", 1, 1), newYear.Year);
        Assert.Equal(new PeriodFigures("all", 2, 2), newYear.Total);
        Assert.Equal(new PeriodFigures("2025-12-31", 1, 1, 1), eve.Day);
        Assert.Equal(new PeriodFigures("2026-W01", 1, 1), eve.Week);
        Assert.Equal(new PeriodFigures("2025-12", 1, 1), eve.Month);
        Assert.Equal(new PeriodFigures("2025", 1, 1), eve.Year);
        Assert.Equal("2025-12-31T23:55:00+07:00", eve.AsOf.ToString("yyyy-MM-ddTHH:mm:sszzz"));
    }

    [Fact]
    public async Task a_late_view_that_bridges_two_visits_makes_them_one()
    {
        var site = await app.NewSiteAsync();
        var day = new DateTimeOffset(2026, 11, 3, 0, 0, 0, Hanoi);
        await ImportAsync(site, ("b", day.AddHours(9)), ("b", day.AddHours(9).AddMinutes(20)), ("b", day.AddHours(9).AddMinutes(55)), ("c", day.AddHours(10)));
        await app.CatchUpAsync();

        var before = await app.CountersAsync(site, day.AddHours(23));
        await ImportAsync(site, ("b", day.AddHours(9).AddMinutes(40)));
        var after = await app.CountersAsync(site, day.AddHours(23));
        var midMorning = await app.CountersAsync(site, day.AddHours(9).AddMinutes(30));

        Assert.Equal(new PeriodFigures("2026-11-03", 4, 3, 2), before.Day);
        Assert.Equal(new PeriodFigures("2026-11-03", 5, 2, 2), after.Day);
        Assert.Equal(new PeriodFigures("2026-W45", 5, 2), after.Week);
        Assert.Equal(new PeriodFigures("2026-11-03", 2, 1, 1), midMorning.Day);
    }

    [Fact]
    public async Task as_of_a_moment_in_the_hour_a_fall_back_repeats_counts_the_views_of_both_passes()
    {
        // Berlin's clocks go back at 03:00 CEST on 25 Oct 2026: 02:00-03:00 comes twice, first at +02:00, then at +01:00.
        // A view late in the first pass reads a later local time than a moment early in the second, though it came before.
        var site = await app.NewSiteAsync(timeZone: "Europe/Berlin", onlineWindowMinutes: 10);
        var firstPass = TimeSpan.FromHours(2);
        var secondPass = TimeSpan.FromHours(1);
        await ImportAsync(site,
            ("a", new DateTimeOffset(2026, 10, 25, 2, 55, 0, firstPass)),
            ("b", new DateTimeOffset(2026, 10, 25, 2, 1, 0, secondPass)),
            ("c", new DateTimeOffset(2026, 10, 25, 2, 30, 0, secondPass)));

        var early = await app.CountersAsync(site, new DateTimeOffset(2026, 10, 25, 2, 4, 0, secondPass));
        var later = await app.CountersAsync(site, new DateTimeOffset(2026, 10, 25, 2, 35, 0, secondPass));

        Assert.Equal(2, early.Online);
        Assert.Equal(new PeriodFigures("2026-10-25", 2, 2, 2), early.Day);
        Assert.Equal(1, later.Online);
        Assert.Equal(new PeriodFigures("2026-10-25", 3, 3, 3), later.Day);
    }

    [Fact]
    public async Task live_counters_match_an_exact_recount_of_now()
    {
        var site = await app.NewSiteAsync();
        using var browser = app.Browser();
        for (var i = 0; i < 5; i++)
        {
            (await browser.PostAsJsonAsync($"/api/v1/sites/{site}/views", new PageViewRequest($"https://portal.test/{i}"))).EnsureSuccessStatusCode();
        }

        await app.CatchUpAsync();
        var live = await app.CountersAsync(site);
        var exact = await app.CountersAsync(site, DateTimeOffset.UtcNow);

        Assert.Equal(5, live.Day.PageViews);
        Assert.Equal(exact.Day, live.Day);
        Assert.Equal(exact.Week, live.Week);
        Assert.Equal(exact.Month, live.Month);
        Assert.Equal(exact.Year, live.Year);
        Assert.Equal(exact.Total, live.Total);
        Assert.Equal(1, live.Online);
        Assert.Equal(1, exact.Online);
    }

    /// <summary>
    /// A visitor-day is rewritten at every view, the projection's largest cost. Its views within a minute must leave
    /// every index alone, so that PostgreSQL rewrites the row in place (HOT): an index on the JSON, or on the exact
    /// last view, would make every rewrite a full one. Three views of one visitor a second apart, each in a page of
    /// its own, are one insert and two in-place updates; and the online count still finds the visitor.
    /// </summary>
    [Fact]
    public async Task a_returning_visitors_views_within_a_minute_rewrite_its_visitor_day_in_place()
    {
        var connection = await app.Database.CreateDatabaseAsync("hot");
        await using var host = app.Create(connection, new Dictionary<string, string?>());
        using var admin = StatsApp.ClientOf(host, StatsApp.AdminKey);
        (await admin.PutAsJsonAsync("/api/v1/sites/hot", new SiteRequest("Hot", null, ["portal.test"], null))).EnsureSuccessStatusCode();
        using var ingest = StatsApp.ClientOf(host, StatsApp.IngestKey);
        using var browser = StatsApp.ClientOf(host, null);
        var store = host.Services.GetRequiredService<IDocumentStore>();
        var minute = VisitorDay.MinuteOf(DateTimeOffset.UtcNow.AddMinutes(-1));
        for (var second = 1; second <= 3; second++)
        {
            var view = new BatchViewItem($"https://portal.test/p{second}", null, null, minute.AddSeconds(second), "returning", null);
            Assert.Equal(HttpStatusCode.Accepted, (await ingest.PostAsJsonAsync("/api/v1/sites/hot/views:batch", new[] { view })).StatusCode);
            await store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        }

        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await Eventually.Until(async () =>
        {
            // The projection's connection reports its statistics within seconds of going idle.
            await using var stats = new NpgsqlCommand(
                "SELECT n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'cchc_visitor_days'", db);
            await using var reader = await stats.ExecuteReaderAsync();
            return await reader.ReadAsync() && (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2)) == (1, 2, 2);
        }, TimeSpan.FromSeconds(30), "the visitor-day should be inserted once and updated twice, both times in place");

        await Eventually.Until(async () => (await browser.GetFromJsonAsync<CountersResponse>("/api/v1/sites/hot/counters"))!.Online == 1,
            TimeSpan.FromSeconds(20), "the visitor seen a minute ago is online");
    }

    /// <summary>
    /// The live refresh re-takes an unchanged site's snapshot only every Stats:OnlineRefreshInterval, but a site whose
    /// counters moved at once, its online count with them. With the interval set to an hour, only that rule can make
    /// the first visitor appear; no explicit refresh here, just the service's own.
    /// </summary>
    [Fact]
    public async Task a_quiet_sites_first_visitor_shows_online_through_the_live_refresh()
    {
        var connection = await app.Database.CreateDatabaseAsync("quiet");
        await using var host = app.Create(connection, new Dictionary<string, string?> { ["Stats:OnlineRefreshInterval"] = "01:00:00" });
        using var admin = StatsApp.ClientOf(host, StatsApp.AdminKey);
        (await admin.PutAsJsonAsync("/api/v1/sites/quiet", new SiteRequest("Quiet", null, ["portal.test"], null))).EnsureSuccessStatusCode();
        using var browser = StatsApp.ClientOf(host, null);
        async Task<CountersResponse> Counters() => (await browser.GetFromJsonAsync<CountersResponse>("/api/v1/sites/quiet/counters"))!;
        Assert.Equal(0, (await Counters()).Online);

        (await browser.PostAsJsonAsync("/api/v1/sites/quiet/views", new PageViewRequest("https://portal.test/first"))).EnsureSuccessStatusCode();

        await Eventually.Until(async () => await Counters() is { Online: 1, Day.PageViews: 1 }, TimeSpan.FromSeconds(20),
            "the first visitor should show online within a few refreshes");
    }

    /// <summary>
    /// One response is one moment: while new visitors' views stream in, a reader polling the live counters every few
    /// milliseconds never sees a visitor counted in the day (every one of them viewed within the online window) without
    /// seeing them online, nor any of the contract's invariants broken, nor a figure going back.
    /// </summary>
    [Fact]
    public async Task every_live_response_is_one_moment_while_views_stream_in()
    {
        const int views = 240;
        var site = await app.NewSiteAsync();
        using var ingest = app.WithKey(StatsApp.IngestKey);
        using var reader = app.Browser();
        using var stop = new CancellationTokenSource();
        var seen = new List<CountersResponse>();
        var polling = Task.Run(async () =>
        {
            using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(4));
            while (!stop.IsCancellationRequested)
            {
                seen.Add((await reader.GetFromJsonAsync<CountersResponse>($"/api/v1/sites/{site}/counters"))!);
                await pace.WaitForNextTickAsync();
            }
        });

        // Paced, so that the stream spans several refreshes of the live counters (unpaced, a fast machine can record
        // it all between two, and the reader sees only before and after).
        using var sending = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        for (var i = 0; i < views; i += 2)
        {
            // Two views a request, each by a visitor of its own: every view counted adds a visitor.
            await ImportAsync(site, ($"streamed-{i}", DateTimeOffset.UtcNow), ($"streamed-{i + 1}", DateTimeOffset.UtcNow));
            await sending.WaitForNextTickAsync();
        }

        await app.CatchUpAsync();
        await Eventually.Until(() => Task.FromResult(seen.LastOrDefault()?.Day.PageViews == views), TimeSpan.FromSeconds(30),
            "the reader should come to see every view");
        await stop.CancelAsync();
        await polling;

        Assert.Contains(seen, r => r.Day.PageViews is > 0 and < views); // the stream was seen on its way, not only before and after
        CountersResponse? before = null;
        foreach (var r in seen)
        {
            var moment = $"at {r.AsOf:O}: online {r.Online}, day {r.Day}";
            Assert.True(r.Online >= r.Day.Visitors, $"a counted visitor is missing from online {moment}");
            Assert.True(r.Day.Visitors <= r.Day.Visits && r.Day.Visits <= r.Day.PageViews, moment);
            Assert.True(r.Day.PageViews <= r.Week.PageViews && r.Day.PageViews <= r.Month.PageViews, moment);
            Assert.True(r.Month.PageViews <= r.Year.PageViews && r.Year.PageViews <= r.Total.PageViews, moment);
            Assert.True(before is null || (r.Total.PageViews >= before.Total.PageViews && r.AsOf >= before.AsOf), $"went back {moment}");
            before = r;
        }
    }

    [Fact]
    public async Task counter_reads_carry_an_etag_and_answer_304_when_nothing_changed()
    {
        var site = await app.NewSiteAsync();
        await app.CatchUpAsync();
        using var browser = app.Browser();

        var first = await browser.GetAsync($"/api/v1/sites/{site}/counters");
        using var again = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/sites/{site}/counters");
        again.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        var second = await browser.SendAsync(again);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.True(first.Headers.CacheControl!.Public);
        Assert.InRange(first.Headers.CacheControl.MaxAge!.Value.TotalSeconds, 1, 10);
        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
    }

    [Fact]
    public async Task more_as_of_reads_at_once_than_run_together_all_answer_and_give_their_turn_back()
    {
        var site = await app.NewSiteAsync();
        var moment = new DateTimeOffset(2026, 3, 2, 10, 0, 0, Hanoi);
        await ImportAsync(site, ("a", moment.AddMinutes(-50)), ("b", moment.AddMinutes(-5)), ("a", moment.AddMinutes(-1)));

        // Three times as many reads as run against the database at once, then more one after another than run at once: a
        // turn not given back would leave the later ones waiting.
        var reads = (await Task.WhenAll(Enumerable.Range(0, 3 * CountersAsOf.ReadersAtOnce).Select(_ => app.CountersAsync(site, moment)))).ToList();
        for (var i = 0; i <= CountersAsOf.ReadersAtOnce; i++)
        {
            reads.Add(await app.CountersAsync(site, moment));
        }

        Assert.All(reads, r => Assert.Equal(new PeriodFigures("2026-03-02", 3, 3, 2), r.Day));
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("2026-11-29T10:00:00")]
    [InlineData("2099-01-01T00:00:00Z")]
    public async Task an_invalid_as_of_is_400(string asOf)
    {
        var site = await app.NewSiteAsync();
        using var browser = app.Browser();

        var response = await browser.GetAsync($"/api/v1/sites/{site}/counters?asOf={Uri.EscapeDataString(asOf)}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task counters_of_an_unknown_site_are_404()
    {
        using var browser = app.Browser();

        var response = await browser.GetAsync("/api/v1/sites/nobody-here/counters");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
