using Microsoft.Playwright;

namespace CCHC.Stats.IntegrationTests;

/// <summary>The contract's <c>GET stats/sources</c> and the statistics page <c>GET /sites/{siteId}/stats</c>.</summary>
public sealed class SourcesTests(StatsApp app)
{
    private static readonly TimeSpan Hanoi = TimeSpan.FromHours(7);
    private static readonly DateTimeOffset Morning = new(2026, 11, 10, 9, 0, 0, Hanoi);

    private static string At(DateTimeOffset moment) => Uri.EscapeDataString(moment.ToString("O"));

    private static BatchViewItem View(string visitor, DateTimeOffset at, string? referrer, string path = "/") =>
        new($"https://portal.test{path}", referrer, null, at, visitor, null);

    [Fact]
    public async Task visits_count_for_the_referrer_of_their_first_view_and_add_up_to_the_visits_less_baselines()
    {
        var site = await app.NewSiteAsync(publishStats: true);
        using var ingest = app.WithKey(StatsApp.IngestKey);
        (await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch", new[]
        {
            View("a", Morning, "https://www.google.com.vn/search?q=cchc"),
            View("a", Morning.AddMinutes(2), "https://portal.test/", "/tin-tuc"), // the same visit: still google's
            View("b", Morning.AddMinutes(1), "https://l.facebook.com/l.php?u=x"),
            View("c", Morning.AddMinutes(3), null),
            View("d", Morning.AddMinutes(4), "https://www.portal.test/a"), // its own host: direct
            View("e", Morning.AddMinutes(5), "https://m.facebook.com/"),
            View("e", Morning.AddMinutes(50), "https://zalo.me/g/x"), // a second visit, from Zalo
            View("f", Morning.AddMinutes(20), null),
            View("g", Morning.AddMinutes(30), "https://baochinhphu.vn/bai-viet"),
        })).EnsureSuccessStatusCode();
        // A late view: f's first view of the day was from Bing, ten minutes before the one already counted.
        (await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch", new[] { View("f", Morning.AddMinutes(10), "https://www.bing.com/search?q=x") }))
            .EnsureSuccessStatusCode();
        using var admin = app.WithKey(StatsApp.AdminKey);
        var baseline = new BaselineFigures(0, 0, 0, 0, 500);
        (await admin.PostAsJsonAsync($"/api/v1/sites/{site}/baseline", new BaselineRequest(Morning.AddDays(-30), baseline, baseline))).EnsureSuccessStatusCode();
        await app.CatchUpAsync();
        using var browser = app.Browser();

        var day = (await browser.GetFromJsonAsync<SourcesResponse>($"/api/v1/sites/{site}/stats/sources?period=day&asOf={At(Morning.AddHours(3))}"))!;
        var total = (await browser.GetFromJsonAsync<SourcesResponse>($"/api/v1/sites/{site}/stats/sources?period=total"))!;
        var early = (await browser.GetFromJsonAsync<SourcesResponse>($"/api/v1/sites/{site}/stats/sources?period=week&asOf={At(Morning.AddMinutes(15))}"))!;
        var counters = await app.CountersAsync(site, Morning.AddHours(3));

        var expected = new[]
        {
            new SourceVisits("direct", 2), new SourceVisits("facebook", 2), new SourceVisits("baochinhphu.vn", 1), new SourceVisits("bing", 1),
            new SourceVisits("google", 1), new SourceVisits("zalo", 1),
        };
        Assert.Equal(("day", "2026-11-10"), (day.Period, day.Key));
        Assert.Equal(expected, day.Sources);
        Assert.Equal(expected, total.Sources);
        Assert.Equal(counters.Day.Visits, day.Sources.Sum(s => s.Visits));
        Assert.Equal(counters.Total.Visits - 500, total.Sources.Sum(s => s.Visits));
        // At 09:15 only the visits begun by then count: a, b, c, d, e and f (from Bing, at 09:10).
        Assert.Equal(("week", "2026-W46"), (early.Period, early.Key));
        Assert.Equal([new SourceVisits("direct", 2), new SourceVisits("facebook", 2), new SourceVisits("bing", 1), new SourceVisits("google", 1)], early.Sources);
    }

    [Theory]
    [InlineData("period=hour")]
    [InlineData("period=day&asOf=2026-11-10T09:00:00")]
    [InlineData("period=day&asOf=2999-01-01T00:00:00%2B07:00")]
    public async Task a_bad_period_or_moment_is_400(string query)
    {
        var site = await app.NewSiteAsync(publishStats: true);
        using var browser = app.Browser();

        var response = await browser.GetAsync($"/api/v1/sites/{site}/stats/sources?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task the_sources_and_the_statistics_page_of_a_site_that_does_not_publish_need_a_key()
    {
        var site = await app.NewSiteAsync(publishStats: false);
        using var browser = app.Browser();
        using var auditor = app.WithKey(StatsApp.AuditorKey);
        using var ingest = app.WithKey(StatsApp.IngestKey);

        Assert.Equal(HttpStatusCode.Forbidden, (await browser.GetAsync($"/api/v1/sites/{site}/stats/sources")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await ingest.GetAsync($"/api/v1/sites/{site}/stats/sources")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await auditor.GetAsync($"/api/v1/sites/{site}/stats/sources")).StatusCode);
        var page = await browser.GetAsync($"/sites/{site}/stats");
        Assert.Equal(HttpStatusCode.Forbidden, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("chưa được công khai", await page.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await auditor.GetAsync($"/sites/{site}/stats")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync("/sites/no-such-site/stats")).StatusCode);
    }

    [Fact]
    public async Task the_statistics_page_renders_in_a_browser_in_vietnamese_and_english()
    {
        var connection = await app.Database.CreateDatabaseAsync("statspage");
        await using var service = await ServiceProcess.StartAsync(connection);
        using var admin = service.Client(StatsApp.AdminKey);
        (await admin.PutAsJsonAsync("/api/v1/sites/tinh", new SiteRequest("Cổng TTĐT tỉnh <Bắc Giang>", null, ["portal.test"], null, PublishStats: true)))
            .EnsureSuccessStatusCode();
        (await admin.PutAsJsonAsync("/api/v1/groups/ca-tinh", new GroupRequest("Các cổng của tỉnh", null, ["tinh"]))).EnsureSuccessStatusCode();
        var now = DateTimeOffset.UtcNow;
        using var ingest = service.Client(StatsApp.IngestKey);
        var random = new Random(3);
        string?[] referrers = [null, "https://www.google.com.vn/", "https://l.facebook.com/", "https://zalo.me/", "https://coccoc.com/search"];
        string[] titles =
        [
            "Bắc Giang đẩy mạnh cải cách hành chính <2026>", "Hướng dẫn nộp hồ sơ trực tuyến mức độ 4", "Lịch tiếp công dân tháng 12",
            "Kết quả chỉ số PAR INDEX của tỉnh", "Thông báo tuyển dụng viên chức", "Tin ảnh: Hội nghị chuyển đổi số",
        ];
        (await ingest.PostAsJsonAsync("/api/v1/sites/tinh/views:batch", Enumerable.Range(0, 200).Select(_ => random.Next(6) * random.Next(2)).Select(article =>
            new BatchViewItem($"https://portal.test/tin-tuc/{article}", referrers[random.Next(referrers.Length)], titles[article],
                now.AddMinutes(-random.Next(0, 600)), $"v{random.Next(40)}", null)))).EnsureSuccessStatusCode();
        using var client = service.Client();
        await Eventually.Until(async () => (await client.GetFromJsonAsync<CountersResponse>("/api/v1/sites/tinh/counters"))!.Total.PageViews == 200);

        var (playwright, browser) = await Browser.LaunchAsync();
        await using var _ = browser;
        using var __ = playwright;
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1100, Height = 900 } });
        var scripts = new List<string>();
        page.Request += (_, request) => scripts.Add(request.Url);
        await page.GotoAsync(new Uri(service.Address, "/sites/tinh/stats").ToString());

        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Thống kê truy cập — Cổng TTĐT tỉnh <Bắc Giang>");
        await Assertions.Expect(page.Locator("#hours rect")).ToHaveCountAsync(24);
        await Assertions.Expect(page.Locator("#months rect")).ToHaveCountAsync(12);
        await Assertions.Expect(page.Locator("#top li")).ToHaveCountAsync(6);
        await Assertions.Expect(page.Locator("#top li", new() { HasText = "cải cách hành chính <2026>" })).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#sources tr[data-source=google]")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#groups tr[data-group=ca-tinh]")).ToContainTextAsync("Các cổng của tỉnh");
        await Assertions.Expect(page.Locator("#total b")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d+$"));
        Assert.All(scripts, url => Assert.StartsWith(service.Address.ToString(), url)); // nothing from elsewhere
        Assert.Equal(0, await page.Locator("script").CountAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(AppContext.BaseDirectory, "stats-page.png"), FullPage = true });

        // Night mode and a reader's larger font: still readable, the charts within the page.
        await page.EmulateMediaAsync(new PageEmulateMediaOptions { ColorScheme = ColorScheme.Dark });
        await page.AddStyleTagAsync(new PageAddStyleTagOptions { Content = "html{font-size:200%}" });
        Assert.Equal("rgb(20, 23, 27)", await page.EvaluateAsync<string>("() => getComputedStyle(document.body).backgroundColor"));
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"));

        await page.GotoAsync(new Uri(service.Address, "/sites/tinh/stats?lang=en").ToString());
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Visitor statistics — Cổng TTĐT tỉnh <Bắc Giang>");
        await Assertions.Expect(page.Locator("#sources h2")).ToHaveTextAsync("Where this month's visits came from");
    }
}
