using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Playwright;

namespace CCHC.Stats.IntegrationTests;

/// <summary>
/// The one-line embed on a portal page of another origin, in headless Chromium: the six rows and their
/// numbers appear, the view it sends is counted, English and night mode render.
/// </summary>
public sealed class WidgetBrowserTests(StatsApp app)
{
    private static readonly string[] VietnameseRows =
        ["Đang truy cập", "Tổng số trong ngày", "Tổng số trong tuần", "Tổng số trong tháng", "Tổng số trong năm", "Tổng số truy cập"];

    [Fact]
    public async Task the_embedded_widget_records_the_view_and_shows_the_counters()
    {
        var connection = await app.Database.CreateDatabaseAsync("widget");
        await using var service = await ServiceProcess.StartAsync(connection);
        await service.AddSiteAsync("portal", "localhost");
        using var api = service.Client(StatsApp.AdminKey);
        var figures = new BaselineFigures(895, 6424, 12331, 663724, 10191468);
        (await api.PostAsJsonAsync("/api/v1/sites/portal/baseline", new BaselineRequest(DateTimeOffset.UtcNow.AddMinutes(-1), figures, figures))).EnsureSuccessStatusCode();

        await Eventually.Until(async () => (await api.GetFromJsonAsync<CountersResponse>("/api/v1/sites/portal/counters"))!.Total.Visits == 10191468);
        var widget = new Uri(service.Address, "/widget.js");
        await using var portal = await PortalPages.StartAsync(new Dictionary<string, string>
        {
            ["/vi"] = $"""<script async src="{widget}" data-site="portal"></script>""",
            ["/en"] = $"""<script async src="{widget}" data-site="portal" data-lang="en" data-track="false"></script>""",
            ["/night"] = $"""<script async src="{widget}" data-site="portal" data-theme="dark" data-track="false"></script>""",
            ["/group"] = $"""<script async src="{widget}" data-group="province"></script>""",
        });
        var (playwright, browser) = await Browser.LaunchAsync();
        await using var _ = browser;
        using var __ = playwright;
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { UserAgent = Browser.UserAgent });
        var page = await context.NewPageAsync();

        await page.GotoAsync(portal.Url("/vi"));
        await Assertions.Expect(page.Locator(".cchc-stats h2")).ToHaveTextAsync("Số lượng truy cập");
        foreach (var label in VietnameseRows)
        {
            await Assertions.Expect(page.Locator(".cchc-stats dt", new() { HasText = label })).ToBeVisibleAsync();
        }

        // The beacon reached the event store, and the widget shows the figures with Vietnamese grouping.
        await Eventually.Until(async () => (await EventRows.UrlsOfSiteAsync(connection, "portal")).Count == 1);
        Assert.Equal(portal.Url("/vi"), Assert.Single(await EventRows.UrlsOfSiteAsync(connection, "portal")));
        await Assertions.Expect(page.Locator(".cchc-stats [data-period=total] dd")).ToHaveTextAsync(new Regex(@"^10\.191\.46[89]$"));
        await Eventually.Until(async () => (await api.GetFromJsonAsync<CountersResponse>("/api/v1/sites/portal/counters"))!.Total.Visits == 10191469);
        await page.ReloadAsync(); // a second view, counted later: the first one is already in the figures shown
        await Assertions.Expect(page.Locator(".cchc-stats [data-period=total] dd")).ToHaveTextAsync(new Regex(@"^10\.191\.(469|470)$"));
        await Assertions.Expect(page.Locator(".cchc-stats [data-period=day] dd")).ToHaveTextAsync(new Regex("^(896|897)$"));
        await Assertions.Expect(page.Locator(".cchc-stats [data-period=online] dd")).ToHaveTextAsync("1");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(AppContext.BaseDirectory, "widget-vi.png") });

        await page.GotoAsync(portal.Url("/en"));
        await Assertions.Expect(page.Locator(".cchc-stats dt", new() { HasText = "All time" })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator(".cchc-stats h2")).ToHaveTextAsync("Visits");
        await Assertions.Expect(page.Locator(".cchc-stats [data-period=total] dd")).ToHaveTextAsync(new Regex(@"^10,191,4(69|70)$"));

        await page.GotoAsync(portal.Url("/night"));
        await Assertions.Expect(page.Locator(".cchc-stats [data-period=total] dd")).ToHaveTextAsync(new Regex(@"^10\.191\.4(69|70)$"));
        var background = await page.EvaluateAsync<string>(
            "() => getComputedStyle(document.querySelector('.cchc-stats').shadowRoot.querySelector('.box')).backgroundColor");
        Assert.Equal("rgb(27, 31, 36)", background);

        // data-group: the figures of the province's sites together (the district carried 1,000 visits over); a group's
        // box records no view, since it names no site.
        await service.AddSiteAsync("district", "district.test");
        var district = new BaselineFigures(0, 0, 0, 0, 1000);
        (await api.PostAsJsonAsync("/api/v1/sites/district/baseline", new BaselineRequest(DateTimeOffset.UtcNow.AddMinutes(-1), district, district))).EnsureSuccessStatusCode();
        (await api.PutAsJsonAsync("/api/v1/groups/province", new GroupRequest("Tỉnh", null, ["portal", "district"]))).EnsureSuccessStatusCode();
        await Eventually.Until(async () => (await api.GetFromJsonAsync<GroupCountersResponse>("/api/v1/groups/province/counters"))!.Total.Visits > 10192000);
        await page.GotoAsync(portal.Url("/group"));
        await Assertions.Expect(page.Locator(".cchc-stats [data-period=total] dd")).ToHaveTextAsync(new Regex(@"^10\.192\.4(69|70)$"));

        // The page's own styles are untouched, and the pages with data-track="false" recorded no view.
        Assert.Equal("rgb(0, 0, 255)", await page.EvaluateAsync<string>("() => getComputedStyle(document.querySelector('h1')).color"));
        Assert.Equal([portal.Url("/vi"), portal.Url("/vi")], await EventRows.UrlsOfSiteAsync(connection, "portal"));
    }

    [Fact]
    public async Task the_widget_script_is_small_and_cacheable()
    {
        using var client = app.Browser();

        var response = await client.GetAsync("/widget.js");
        var bytes = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/javascript", response.Content.Headers.ContentType?.MediaType);
        Assert.InRange(bytes.Length, 1000, 8 * 1024);
        Assert.True(response.Headers.CacheControl?.Public);
        Assert.DoesNotContain("document.cookie", System.Text.Encoding.UTF8.GetString(bytes));
        Assert.DoesNotContain("localStorage", System.Text.Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public async Task the_widget_fills_an_articles_views_and_the_most_read_list()
    {
        // The most-read list is the week's and the views are half a minute old: not across the site's midnight (a Monday's
        // would put them in the week before).
        await Eventually.AwayFromMidnight("Asia/Ho_Chi_Minh", TimeSpan.FromMinutes(2));
        var connection = await app.Database.CreateDatabaseAsync("widgetpages");
        await using var service = await ServiceProcess.StartAsync(connection);
        using var api = service.Client(StatsApp.AdminKey);
        (await api.PutAsJsonAsync("/api/v1/sites/portal", new SiteRequest("Portal", null, ["localhost"], null, PublishStats: true))).EnsureSuccessStatusCode();
        var widget = new Uri(service.Address, "/widget.js");
        await using var portal = await PortalPages.StartAsync(new Dictionary<string, string>
        {
            ["/tin/cchc-123"] = $"""
                <article><h2>Chú trọng công tác tuyên truyền CCHC</h2><p>Lượt xem: <span data-cchc="page-views">–</span></p></article>
                <section><h3>Tin đọc nhiều</h3><div data-cchc="top-pages" data-period="week"></div></section>
                <script async src="{widget}" data-site="portal"></script>
                """,
        });
        var article = portal.Url("/tin/cchc-123");
        var baseline = new PageBaselineRequest(DateTimeOffset.UtcNow.AddMinutes(-1), [new PageBaselineItem(article, 15432, "Bài cũ")]);
        (await api.PostAsJsonAsync("/api/v1/sites/portal/pages:baseline", baseline)).EnsureSuccessStatusCode();
        using var ingest = service.Client(StatsApp.IngestKey);
        var earlier = new[] { ("/tin/khac", "Tin <b>khác</b> & \"mới\"", 3), ("/tin/cchc-123", "Chú trọng công tác tuyên truyền CCHC", 1) }
            .SelectMany(p => Enumerable.Range(0, p.Item3).Select(i => new BatchViewItem(portal.Url(p.Item1), null, p.Item2, DateTimeOffset.UtcNow.AddSeconds(-30 - i), $"r{i}", null)))
            .ToList();
        (await ingest.PostAsJsonAsync("/api/v1/sites/portal/views:batch", earlier)).EnsureSuccessStatusCode();
        await Eventually.Until(async () => (await api.GetFromJsonAsync<PageViewsResponse>(
            $"/api/v1/sites/portal/pages/views?url={Uri.EscapeDataString(article)}"))!.Total.PageViews == 15433);
        var (playwright, browser) = await Browser.LaunchAsync();
        await using var _ = browser;
        using var __ = playwright;
        var page = await (await browser.NewContextAsync(new BrowserNewContextOptions { UserAgent = Browser.UserAgent })).NewPageAsync();

        await page.GotoAsync(article + "?utm_source=zalo");

        // This view included, grouped the vi-VN way: 15,432 carried over, one earlier view, and this one.
        await Assertions.Expect(page.Locator("[data-cchc=page-views]")).ToHaveTextAsync("15.434");
        var items = page.Locator("[data-cchc=top-pages] li");
        await Assertions.Expect(items).ToHaveCountAsync(2);
        await Assertions.Expect(items.Nth(0).Locator("a")).ToHaveTextAsync("Tin <b>khác</b> & \"mới\"");
        Assert.Equal(0, await page.Locator("[data-cchc=top-pages] b").CountAsync());
        Assert.Equal(portal.Url("/tin/khac"), await items.Nth(0).Locator("a").GetAttributeAsync("href"));
        await Assertions.Expect(items.Nth(1).Locator("a")).ToHaveTextAsync("Chú trọng công tác tuyên truyền CCHC");
        await Assertions.Expect(items.Nth(0).Locator(".cchc-views")).ToHaveTextAsync(new Regex(@"^\s*\(3\)$"));

        // The view it sent is counted for its page, and the figure stays.
        await Eventually.Until(async () => (await api.GetFromJsonAsync<PageViewsResponse>(
            $"/api/v1/sites/portal/pages/views?url={Uri.EscapeDataString(article)}"))!.Total.PageViews == 15434);
        await page.WaitForTimeoutAsync(3500);
        await Assertions.Expect(page.Locator("[data-cchc=page-views]")).ToHaveTextAsync("15.434");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(AppContext.BaseDirectory, "widget-pages.png") });
    }

    [Fact]
    public async Task the_badge_shows_one_figure_as_svg()
    {
        var site = await app.NewSiteAsync();
        using var admin = app.WithKey(StatsApp.AdminKey);
        var figures = new BaselineFigures(1, 2, 3, 4, 1234567);
        (await admin.PostAsJsonAsync($"/api/v1/sites/{site}/baseline", new BaselineRequest(DateTimeOffset.UtcNow.AddMinutes(-1), figures, figures))).EnsureSuccessStatusCode();
        await app.CatchUpAsync();
        using var client = app.Browser();

        var vietnamese = await client.GetAsync($"/api/v1/sites/{site}/counter.svg?period=total&metric=visits");
        var english = await client.GetStringAsync($"/api/v1/sites/{site}/counter.svg?period=total&metric=pageViews&lang=en");
        var invalid = await client.GetAsync($"/api/v1/sites/{site}/counter.svg?period=decade");

        Assert.Equal("image/svg+xml", vietnamese.Content.Headers.ContentType?.MediaType);
        var svg = await vietnamese.Content.ReadAsStringAsync();
        Assert.Contains("Tổng số truy cập", svg);
        Assert.Contains("1.234.567", svg);
        Assert.Contains("All time", english);
        Assert.Contains("1,234,567", english);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);

        using var ingest = app.WithKey(StatsApp.IngestKey);
        (await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch", Enumerable.Range(0, 3).Select(i =>
            new BatchViewItem("https://portal.test/tin/1", null, null, DateTimeOffset.UtcNow.AddMinutes(-i), $"b{i}", null)))).EnsureSuccessStatusCode();
        await app.CatchUpAsync();
        var url = Uri.EscapeDataString("https://portal.test/tin/1?utm_source=x");
        string pageBadge = "";
        await Eventually.Until(async () => (pageBadge = await client.GetStringAsync($"/api/v1/sites/{site}/counter.svg?url={url}")).Contains(">3<"));
        Assert.Contains("Lượt xem", pageBadge);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync($"/api/v1/sites/{site}/counter.svg?url={url}&metric=visits")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden,
            (await client.GetAsync($"/api/v1/sites/{site}/counter.svg?url={Uri.EscapeDataString("https://elsewhere.test/a")}")).StatusCode);
    }


    /// <summary>A portal of another origin (localhost on a port of its own) whose pages embed the widget.</summary>
    private sealed class PortalPages : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly int _port;

        private PortalPages(WebApplication app, int port) => (_app, _port) = (app, port);

        public string Url(string path) => $"http://localhost:{_port}{path}";

        public static async Task<PortalPages> StartAsync(IReadOnlyDictionary<string, string> embeds)
        {
            var port = ServiceProcess.FreePort();
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls($"http://localhost:{port}");
            var app = builder.Build();
            foreach (var (path, embed) in embeds)
            {
                app.MapGet(path, () => Results.Content(
                    $$"""
                    <!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Cổng TTĐT</title>
                    <style>h1 { color: rgb(0, 0, 255); } div, dt, dd, section { color: rgb(0, 128, 0); border: 5px solid red; }</style></head>
                    <body><h1>Cổng thông tin điện tử</h1><aside style="width: 18rem">{{embed}}</aside></body></html>
                    """, "text/html; charset=utf-8"));
            }

            await app.StartAsync();
            return new PortalPages(app, port);
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
