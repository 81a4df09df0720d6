namespace CCHC.Stats.IntegrationTests;

/// <summary>The contract's <c>GET stats/series</c>: every interval present, read from the stored hours, days and months.</summary>
public sealed class SeriesTests(StatsApp app)
{
    private static readonly TimeSpan Hanoi = TimeSpan.FromHours(7);
    private static readonly DateTimeOffset Day = new(2026, 11, 10, 0, 0, 0, Hanoi);

    private static string Query(DateTimeOffset from, DateTimeOffset to, string interval) =>
        $"from={Uri.EscapeDataString(from.ToString("O"))}&to={Uri.EscapeDataString(to.ToString("O"))}&interval={interval}";

    [Fact]
    public async Task the_points_of_a_day_add_up_to_that_days_counters_and_every_interval_is_present()
    {
        var site = await app.NewSiteAsync(publishStats: true);
        var random = new Random(5);
        var views = Enumerable.Range(0, 300).Select(_ => (At: Day.AddMinutes(random.Next(0, 3 * 24 * 60)), Visitor: $"v{random.Next(25)}")).ToList();
        using var ingest = app.WithKey(StatsApp.IngestKey);
        (await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch",
            views.Select(v => new BatchViewItem("https://portal.test/", null, null, v.At, v.Visitor, null)))).EnsureSuccessStatusCode();
        await app.CatchUpAsync();
        using var browser = app.Browser();

        var hours = (await browser.GetFromJsonAsync<SeriesResponse>($"/api/v1/sites/{site}/stats/series?{Query(Day.AddDays(1), Day.AddDays(2), "hour")}"))!;
        var days = (await browser.GetFromJsonAsync<SeriesResponse>($"/api/v1/sites/{site}/stats/series?{Query(Day.AddDays(-2), Day.AddDays(5), "day")}"))!;
        var months = (await browser.GetFromJsonAsync<SeriesResponse>($"/api/v1/sites/{site}/stats/series?{Query(Day.AddMonths(-1), Day.AddMonths(1), "month")}"))!;

        Assert.Equal(24, hours.Points.Count);
        Assert.Equal(("2026-11-11T00", Day.AddDays(1)), (hours.Points[0].Key, hours.Points[0].Start));
        Assert.Equal(Enumerable.Range(0, 24).Select(h => Day.AddDays(1).AddHours(h)), hours.Points.Select(p => p.Start));
        var counters = await app.CountersAsync(site, Day.AddDays(2).AddTicks(-1));
        Assert.Equal(counters.Day.PageViews, hours.Points.Sum(p => p.PageViews));
        Assert.Equal(counters.Day.Visits, hours.Points.Sum(p => p.Visits));
        Assert.All(hours.Points, p => Assert.InRange(p.Visitors!.Value, 0, counters.Day.Visitors!.Value));

        Assert.Equal(["2026-11-08", "2026-11-09", "2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13", "2026-11-14"], days.Points.Select(p => p.Key));
        Assert.Equal([0L, 0, 0, 0], days.Points.Where(p => p.Key is "2026-11-08" or "2026-11-09" or "2026-11-13" or "2026-11-14").Select(p => p.PageViews));
        Assert.Equal(views.Count, days.Points.Sum(p => p.PageViews));
        Assert.Equal(counters.Day, new PeriodFigures("2026-11-11", days.Points[3].PageViews, days.Points[3].Visits, days.Points[3].Visitors));

        // [10 Oct, 10 Dec) overlaps three months.
        Assert.Equal(["2026-10", "2026-11", "2026-12"], months.Points.Select(p => p.Key));
        Assert.Equal((0L, (long)views.Count, 0L, (long?)null), (months.Points[0].PageViews, months.Points[1].PageViews, months.Points[2].PageViews, months.Points[1].Visitors));
        Assert.Equal(days.Points.Sum(p => p.Visits), months.Points[1].Visits);
    }

    /// <summary>Hours are held in memory by day, checked against the day's stored row: a late view into a day already read shows.</summary>
    [Fact]
    public async Task a_late_view_into_hours_already_read_shows_in_the_next_series()
    {
        var site = await app.NewSiteAsync(publishStats: true);
        using var ingest = app.WithKey(StatsApp.IngestKey);
        (await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch",
            new[] { new BatchViewItem("https://portal.test/", null, null, Day.AddHours(10), "a", null) })).EnsureSuccessStatusCode();
        await app.CatchUpAsync();
        using var browser = app.Browser();
        var url = $"/api/v1/sites/{site}/stats/series?{Query(Day, Day.AddDays(2), "hour")}";
        var first = await browser.GetAsync(url);
        var before = (await first.Content.ReadFromJsonAsync<SeriesResponse>())!;

        (await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch",
            new[] { new BatchViewItem("https://portal.test/", null, null, Day.AddHours(3), "b", null) })).EnsureSuccessStatusCode();
        await app.CatchUpAsync();
        await Eventually.Until(async () => (await browser.GetFromJsonAsync<SeriesResponse>(url))!.Points[3].PageViews == 1);

        Assert.Equal((48, 1L, 0L), (before.Points.Count, before.Points[10].PageViews, before.Points[3].PageViews));
        var after = (await browser.GetFromJsonAsync<SeriesResponse>(url))!;
        Assert.Equal((1L, 1L, 2L), (after.Points[10].PageViews, after.Points[3].PageViews, after.Points.Sum(p => p.PageViews)));

        // The ETag follows the figures: the first answer's no longer matches, the current one does.
        using var stale = new HttpRequestMessage(HttpMethod.Get, url);
        stale.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        var changed = await browser.SendAsync(stale);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        using var current = new HttpRequestMessage(HttpMethod.Get, url);
        current.Headers.IfNoneMatch.Add(changed.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await browser.SendAsync(current)).StatusCode);

        // Written straight from the hours' JSON, compressed for a browser that asks, the same figures.
        using var zipped = new HttpRequestMessage(HttpMethod.Get, url);
        zipped.Headers.AcceptEncoding.ParseAdd("gzip");
        var compressed = await browser.SendAsync(zipped);
        Assert.Equal(["gzip"], compressed.Content.Headers.ContentEncoding);
        await using var stream = new System.IO.Compression.GZipStream(await compressed.Content.ReadAsStreamAsync(), System.IO.Compression.CompressionMode.Decompress);
        Assert.Equal(after.Points, (await System.Text.Json.JsonSerializer.DeserializeAsync<SeriesResponse>(stream, System.Text.Json.JsonSerializerOptions.Web))!.Points);
        Assert.Equal(after.Points, (await browser.GetFromJsonAsync<SeriesResponse>(url))!.Points);
    }

    [Theory]
    [InlineData("interval=week")]
    [InlineData("interval=hour&from=2026-11-10T00:00:00%2B07:00")]
    [InlineData("interval=hour&from=2026-11-10T00:00:00&to=2026-11-11T00:00:00%2B07:00")]
    [InlineData("interval=hour&from=2026-11-11T00:00:00%2B07:00&to=2026-11-10T00:00:00%2B07:00")]
    [InlineData("interval=hour&from=2026-10-01T00:00:00%2B07:00&to=2026-11-10T00:00:00%2B07:00")]
    [InlineData("interval=day&from=2010-01-01T00:00:00%2B07:00&to=2026-11-10T00:00:00%2B07:00")]
    public async Task a_bad_range_or_too_many_points_is_400(string query)
    {
        var site = await app.NewSiteAsync(publishStats: true);
        using var browser = app.Browser();

        var response = await browser.GetAsync($"/api/v1/sites/{site}/stats/series?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task the_series_of_a_site_that_does_not_publish_needs_a_key()
    {
        var site = await app.NewSiteAsync(publishStats: false);
        var query = Query(Day, Day.AddDays(1), "hour");
        using var browser = app.Browser();
        using var auditor = app.WithKey(StatsApp.AuditorKey);

        Assert.Equal(HttpStatusCode.Forbidden, (await browser.GetAsync($"/api/v1/sites/{site}/stats/series?{query}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await auditor.GetAsync($"/api/v1/sites/{site}/stats/series?{query}")).StatusCode);
    }
}
