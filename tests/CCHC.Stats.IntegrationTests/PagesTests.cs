using System.Text;
using Marten;
using Marten.Events;
using Microsoft.Extensions.DependencyInjection;
using System.Text.Json;
using CountersAsOf = CCHC.Stats.Api.Counters.CountersAsOf;

namespace CCHC.Stats.IntegrationTests;

/// <summary>The contract's Pages section, through the public endpoints.</summary>
public sealed class PagesTests(StatsApp app)
{
    private static readonly TimeSpan Hanoi = TimeSpan.FromHours(7);
    private static readonly DateTimeOffset Morning = new(2026, 11, 10, 9, 10, 0, Hanoi);

    private async Task ImportAsync(string site, params (string Url, string? Title, DateTimeOffset At)[] views)
    {
        using var ingest = app.WithKey(StatsApp.IngestKey);
        var response = await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch",
            views.Select((v, i) => new BatchViewItem(v.Url, null, v.Title, v.At, $"visitor-{i % 3}", null)).ToList());
        response.EnsureSuccessStatusCode();
    }

    private static string Query(string url, DateTimeOffset? asOf = null) =>
        $"url={Uri.EscapeDataString(url)}" + (asOf is null ? "" : $"&asOf={Uri.EscapeDataString(asOf.Value.ToString("O"))}");

    private async Task<PageViewsResponse> PageAsync(string site, string url, DateTimeOffset? asOf = null)
    {
        using var browser = app.Browser();
        var response = await browser.GetAsync($"/api/v1/sites/{site}/pages/views?{Query(url, asOf)}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<PageViewsResponse>())!;
    }

    [Fact]
    public async Task a_page_counts_the_views_of_every_url_that_names_it_and_shows_its_newest_title()
    {
        var site = await app.NewSiteAsync();
        const string article = "https://portal.test/tin-tức/cchc-123";
        await ImportAsync(site,
            (article, "Tiêu đề cũ", Morning),
            ("https://www.portal.test/tin-t%E1%BB%A9c/cchc-123/?utm_source=zalo&zarsrc=30#binh-luan", null, Morning.AddHours(1)),
            ("http://portal.test/tin-tức/cchc-123?fbclid=abc", "Tiêu đề mới", Morning.AddHours(1).AddMinutes(5)),
            ("https://portal.test/tin-tức/cchc-123".Normalize(NormalizationForm.FormD), "", Morning.AddHours(1).AddMinutes(20)),
            ("https://portal.test/tin-tức/khac", "Khác", Morning.AddHours(1).AddMinutes(21)),
            (article, null, Morning.AddDays(-20)));
        await app.CatchUpAsync();

        var live = await PageAsync(site, article + "?utm_medium=social");
        Assert.Equal("/tin-tức/cchc-123", live.Page);
        Assert.Equal("Tiêu đề mới", live.Title);
        Assert.Equal(5, live.Total.PageViews);

        // As it stood in the open hour (10:00–11:00): the day's closed hour and the open hour's views up to the moment.
        var during = await PageAsync(site, article, Morning.AddHours(1).AddMinutes(10));
        Assert.Equal(new PagePeriodFigures("2026-11-10", 3), during.Day);
        Assert.Equal(new PagePeriodFigures("2026-W46", 3), during.Week);
        Assert.Equal(new PagePeriodFigures("2026-11", 3), during.Month);
        Assert.Equal(new PagePeriodFigures("2026", 4), during.Year);
        Assert.Equal(new PagePeriodFigures("all", 4), during.Total);
        Assert.Equal(5, (await PageAsync(site, article, Morning.AddDays(1))).Total.PageViews);
        Assert.Equal(0, (await PageAsync(site, article, Morning.AddDays(-30))).Total.PageViews);
    }

    [Fact]
    public async Task a_page_never_viewed_answers_zeros_cacheable_by_anyone()
    {
        var site = await app.NewSiteAsync();
        using var browser = app.Browser();
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/sites/{site}/pages/views?{Query("https://portal.test/chua-ai-doc")}");
        request.Headers.Add("Origin", "https://portal.test");

        var response = await browser.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var page = (await response.Content.ReadFromJsonAsync<PageViewsResponse>())!;
        Assert.Equal(("/chua-ai-doc", (string?)null, 0L, 0L), (page.Page, page.Title, page.Day.PageViews, page.Total.PageViews));
        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.True(response.Headers.CacheControl!.Public);
        Assert.InRange(response.Headers.CacheControl.MaxAge!.Value.TotalSeconds, 1, 30);

        var again = new HttpRequestMessage(HttpMethod.Get, request.RequestUri);
        again.Headers.IfNoneMatch.Add(response.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await browser.SendAsync(again)).StatusCode);
    }

    [Theory]
    [InlineData("https://elsewhere.test/a", HttpStatusCode.Forbidden)]
    [InlineData("/relative", HttpStatusCode.BadRequest)]
    [InlineData("ftp://portal.test/a", HttpStatusCode.BadRequest)]
    [InlineData("", HttpStatusCode.BadRequest)]
    public async Task a_url_that_is_not_the_sites_is_refused(string url, HttpStatusCode expected)
    {
        var site = await app.NewSiteAsync();
        using var browser = app.Browser();

        var response = await browser.GetAsync($"/api/v1/sites/{site}/pages/views?{Query(url)}");

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task page_reads_of_an_unknown_site_or_with_a_bad_asOf_are_problems()
    {
        var site = await app.NewSiteAsync();
        using var browser = app.Browser();
        Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync($"/api/v1/sites/no-such-site/pages/views?{Query("https://portal.test/a")}")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await browser.GetAsync($"/api/v1/sites/{site}/pages/views?url=https://portal.test/a&asOf=2026-11-10T10:00:00")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await browser.GetAsync($"/api/v1/sites/{site}/pages/views?url=https://portal.test/a&asOf=2999-01-01T00:00:00Z")).StatusCode);
    }

    [Fact]
    public async Task the_most_read_list_ranks_a_periods_pages_by_views_then_page()
    {
        var site = await app.NewSiteAsync(publishStats: true);
        await ImportAsync(site,
            ("https://portal.test/b", "Bài B", Morning), ("https://portal.test/b", null, Morning.AddMinutes(1)),
            ("https://portal.test/a", "Bài <A> & \"trích\"", Morning.AddMinutes(2)), ("https://portal.test/a", null, Morning.AddMinutes(3)),
            ("https://portal.test/c", null, Morning.AddMinutes(4)),
            ("https://portal.test/c", null, Morning.AddDays(-40)), ("https://portal.test/c", null, Morning.AddDays(-41)));
        await app.CatchUpAsync();
        using var browser = app.Browser();

        var total = (await browser.GetFromJsonAsync<TopPagesResponse>($"/api/v1/sites/{site}/pages/top?period=total&limit=2"))!;
        Assert.Equal(new TopPagesPeriod("total", "all"), total.Period);
        Assert.Equal([new TopPage("/c", null, 3), new TopPage("/a", "Bài <A> & \"trích\"", 2)], total.Pages);

        var asOf = Uri.EscapeDataString(Morning.AddMinutes(30).ToString("O"));
        var day = (await browser.GetFromJsonAsync<TopPagesResponse>($"/api/v1/sites/{site}/pages/top?period=day&asOf={asOf}"))!;
        Assert.Equal(new TopPagesPeriod("day", "2026-11-10"), day.Period);
        Assert.Equal(["/a", "/b", "/c"], day.Pages.Select(p => p.Page));
        Assert.Equal([2L, 2, 1], day.Pages.Select(p => p.PageViews));

        var month = (await browser.GetFromJsonAsync<TopPagesResponse>($"/api/v1/sites/{site}/pages/top?period=month&asOf={asOf}"))!;
        Assert.Equal([2L, 2, 1], month.Pages.Select(p => p.PageViews));
        var year = (await browser.GetFromJsonAsync<TopPagesResponse>($"/api/v1/sites/{site}/pages/top?period=year&limit=1&asOf={asOf}"))!;
        Assert.Equal([new TopPage("/c", null, 3)], year.Pages);
    }

    /// <summary>
    /// A new site, in a zone where today passes <paramref name="samePeriod"/> (so yesterday is in its period), asked of the local
    /// date, with views of yesterday and today: /a 3 (yesterday), /b 2 (one each day), /c 2 (today); caught up.
    /// </summary>
    private async Task<(string Site, DateTimeOffset Yesterday)> SiteWithYesterdayAndTodayAsync(Func<DateTime, bool> samePeriod)
    {
        var now = DateTimeOffset.UtcNow;
        var zone = new[] { "Pacific/Kiritimati", "Etc/GMT+12" }
            .First(z => samePeriod(TimeZoneInfo.ConvertTime(now, TimeZoneInfo.FindSystemTimeZoneById(z)).DateTime));
        var site = await app.NewSiteAsync(zone, publishStats: true);
        var (yesterday, today) = (now.AddDays(-1), now.AddSeconds(-2));
        await ImportAsync(site,
            ("https://portal.test/a", "A", yesterday), ("https://portal.test/a", null, yesterday.AddMinutes(1)), ("https://portal.test/a", null, yesterday.AddMinutes(2)),
            ("https://portal.test/b", "B", yesterday), ("https://portal.test/b", null, today),
            ("https://portal.test/c", "C", today), ("https://portal.test/c", null, today.AddSeconds(1)));
        await app.CatchUpAsync();
        return (site, yesterday);
    }

    /// <summary>
    /// The live week's list is the sums of the week's closed days with today's rows added (the closed days summed once):
    /// it ranks as the list recounted as of now does, and a late view for a closed day moves it. The site's zone is one
    /// where today is not the week's first day, so the week has a closed day whatever day the test runs.
    /// </summary>
    [Fact]
    public async Task the_live_most_read_list_of_a_week_adds_today_to_its_closed_days_and_follows_a_late_view()
    {
        var (site, yesterday) = await SiteWithYesterdayAndTodayAsync(local => local.DayOfWeek != DayOfWeek.Monday);
        using var browser = app.Browser();
        async Task<IEnumerable<(string, long)>> TopAsync(string query = "") =>
            (await browser.GetFromJsonAsync<TopPagesResponse>($"/api/v1/sites/{site}/pages/top?period=week{query}"))!.Pages.Select(p => (p.Page, p.PageViews));

        Assert.Equal([("/a", 3L), ("/b", 2L), ("/c", 2L)], await TopAsync());
        Assert.Equal(await TopAsync(), await TopAsync($"&asOf={Uri.EscapeDataString(DateTimeOffset.UtcNow.ToString("O"))}"));

        // Two views of /c arrive late for yesterday: the closed days are summed again, and /c leads.
        await ImportAsync(site, ("https://portal.test/c", null, yesterday.AddMinutes(5)), ("https://portal.test/c", null, yesterday.AddMinutes(6)));
        await app.CatchUpAsync();
        IEnumerable<(string, long)> live = [];
        await Eventually.Until(async () => (live = await TopAsync()).SequenceEqual([("/c", 4L), ("/a", 3L), ("/b", 2L)]), TimeSpan.FromSeconds(30),
            () => $"the live week should count the late views: {string.Join(", ", live)}");
    }

    /// <summary>
    /// A live list of a month, a year or all time is its views before today, read once, with today's rows added: a late
    /// view for a day before today moves all three, and a page baseline recorded after the lists were read moves all time's.
    /// </summary>
    [Fact]
    public async Task the_live_most_read_lists_of_long_periods_add_today_to_the_days_before_and_follow_late_views_and_page_baselines()
    {
        var (site, yesterday) = await SiteWithYesterdayAndTodayAsync(local => local.Day != 1);
        var now = DateTimeOffset.UtcNow;
        using var browser = app.Browser();
        async Task<List<(string, long)>> TopAsync(string period, string query = "") =>
            (await browser.GetFromJsonAsync<TopPagesResponse>($"/api/v1/sites/{site}/pages/top?period={period}{query}"))!.Pages.Select(p => (p.Page, p.PageViews)).ToList();
        string[] periods = ["month", "year", "total"];
        async Task ExpectAsync(string period, (string, long)[] expected, string because)
        {
            List<(string, long)> live = [];
            await Eventually.Until(async () => (live = await TopAsync(period)).SequenceEqual(expected), TimeSpan.FromSeconds(30),
                () => $"{period}: {because}: {string.Join(", ", live)}");
        }

        foreach (var period in periods)
        {
            Assert.Equal([("/a", 3L), ("/b", 2L), ("/c", 2L)], await TopAsync(period));
            Assert.Equal(await TopAsync(period), await TopAsync(period, $"&asOf={Uri.EscapeDataString(DateTimeOffset.UtcNow.ToString("O"))}"));
        }

        // Two views of /c arrive late for yesterday: the views before today are read again, and /c leads.
        await ImportAsync(site, ("https://portal.test/c", null, yesterday.AddMinutes(5)), ("https://portal.test/c", null, yesterday.AddMinutes(6)));
        await app.CatchUpAsync();
        foreach (var period in periods)
        {
            await ExpectAsync(period, [("/c", 4L), ("/a", 3L), ("/b", 2L)], "the late views should count");
        }

        // A legacy total for /b: all time's list takes it; the month's does not.
        using var admin = app.WithKey(StatsApp.AdminKey);
        (await admin.PostAsJsonAsync($"/api/v1/sites/{site}/pages:baseline",
            new PageBaselineRequest(now.AddMinutes(-1), [new PageBaselineItem("https://portal.test/b", 10, null)]))).EnsureSuccessStatusCode();
        await app.CatchUpAsync();
        await ExpectAsync("total", [("/b", 12L), ("/c", 4L), ("/a", 3L)], "the page baseline should count");
        Assert.Equal([("/c", 4L), ("/a", 3L), ("/b", 2L)], await TopAsync("month"));
    }

    /// <summary>
    /// Pages of equal views rank by their bytes, live and asOf, whatever the database's collation: on a database that
    /// sorts text the en-US way ("/a" before "/B"), "/B" still comes first, as the service ranks pages in memory.
    /// </summary>
    [Fact]
    public async Task pages_of_equal_views_rank_the_same_live_and_as_of_whatever_the_databases_collation()
    {
        var connection = await app.Database.CreateDatabaseAsync("collation", icuLocale: "en-US");
        await using var host = app.Create(connection, new Dictionary<string, string?>());
        using var admin = StatsApp.ClientOf(host, StatsApp.AdminKey);
        (await admin.PutAsJsonAsync("/api/v1/sites/icu", new SiteRequest("ICU", "Asia/Ho_Chi_Minh", ["portal.test"], null, PublishStats: true)))
            .EnsureSuccessStatusCode();
        using var ingest = StatsApp.ClientOf(host, StatsApp.IngestKey);
        await Eventually.AwayFromMidnight("Asia/Ho_Chi_Minh", TimeSpan.FromMinutes(1)); // the views' day is the day read
        var at = DateTimeOffset.UtcNow.AddSeconds(-2);
        (await ingest.PostAsJsonAsync("/api/v1/sites/icu/views:batch", new[] { "/a", "/B", "/c", "/c" }
            .Select((page, i) => new BatchViewItem($"https://portal.test{page}", null, null, at, $"v{i}", null)))).EnsureSuccessStatusCode();
        await host.Services.GetRequiredService<IDocumentStore>().WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        using var reader = StatsApp.ClientOf(host, null);
        var asOf = Uri.EscapeDataString(DateTimeOffset.UtcNow.ToString("O"));
        foreach (var period in new[] { "day", "week", "month", "year", "total" })
        {
            var live = (await reader.GetFromJsonAsync<TopPagesResponse>($"/api/v1/sites/icu/pages/top?period={period}"))!;
            var then = (await reader.GetFromJsonAsync<TopPagesResponse>($"/api/v1/sites/icu/pages/top?period={period}&asOf={asOf}"))!;
            Assert.Equal(["/c", "/B", "/a"], live.Pages.Select(p => p.Page));
            Assert.Equal(live.Pages, then.Pages);
        }
    }

    [Theory]
    [InlineData(null, HttpStatusCode.Forbidden)]
    [InlineData(StatsApp.AdminKey, HttpStatusCode.OK)]
    [InlineData(StatsApp.AuditorKey, HttpStatusCode.OK)]
    [InlineData(StatsApp.IngestKey, HttpStatusCode.Forbidden)]
    [InlineData("not-a-key", HttpStatusCode.Unauthorized)]
    public async Task the_most_read_list_of_a_site_that_does_not_publish_needs_the_admin_or_auditor_key(string? key, HttpStatusCode expected)
    {
        var site = await app.NewSiteAsync(publishStats: false);
        using var client = key is null ? app.Browser() : app.WithKey(key);

        var response = await client.GetAsync($"/api/v1/sites/{site}/pages/top");

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.OK)
        {
            Assert.True(response.Headers.CacheControl!.Private);
            Assert.Equal(new TopPagesPeriod("week", PeriodKeyOfThisWeek()), (await response.Content.ReadFromJsonAsync<TopPagesResponse>())!.Period);
        }
        else
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=101")]
    [InlineData("limit=ten")]
    [InlineData("limit=-1")]
    [InlineData("period=hour")]
    [InlineData("period=WEEK")]
    [InlineData("asOf=yesterday")]
    public async Task a_bad_most_read_query_is_400(string query)
    {
        var site = await app.NewSiteAsync(publishStats: true);
        using var browser = app.Browser();

        var response = await browser.GetAsync($"/api/v1/sites/{site}/pages/top?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task page_baselines_add_to_their_pages_all_time_figure_from_their_moment_and_never_to_the_sites()
    {
        var site = await app.NewSiteAsync(publishStats: true);
        await ImportAsync(site, ("https://portal.test/tin/1", null, Morning));
        using var admin = app.WithKey(StatsApp.AdminKey);
        var asOf = Morning.AddHours(2);
        var body = $$"""
            {"asOf":"{{asOf:O}}","pages":[
              {"url":"https://portal.test/tin/1/?utm_source=x","pageViews":5432,"title":"Tin một"},
              {"url":"https://elsewhere.test/tin/2","pageViews":10},
              {"url":"https://portal.test/tin/3","pageViews":-1},
              {"url":"https://portal.test/tin/4","pageViews":"many"},
              {"url":"https://portal.test/tin/5"},
              "not an object",
              {"url":"https://portal.test/tin/6","pageViews":7}
            ]}
            """;

        var response = await admin.PostAsync($"/api/v1/sites/{site}/pages:baseline", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = (await response.Content.ReadFromJsonAsync<PageBaselineResult>())!;
        Assert.Equal(2, result.Accepted);
        Assert.Equal([1, 2, 3, 4, 5], result.Rejected.Select(r => r.Index));
        Assert.All(result.Rejected, r => Assert.False(string.IsNullOrWhiteSpace(r.Reason)));

        await app.CatchUpAsync();
        Assert.Equal(5433, (await PageAsync(site, "https://portal.test/tin/1")).Total.PageViews);
        var before = await PageAsync(site, "https://portal.test/tin/1", asOf.AddMinutes(-1));
        Assert.Equal(1, before.Total.PageViews);
        var after = await PageAsync(site, "https://portal.test/tin/1", asOf);
        Assert.Equal((1L, 1L, 5433L, "Tin một"), (after.Day.PageViews, after.Year.PageViews, after.Total.PageViews, after.Title));
        Assert.Equal(7, (await PageAsync(site, "https://portal.test/tin/6", asOf.AddDays(1))).Total.PageViews);

        Assert.Equal(1, (await app.CountersAsync(site)).Total.PageViews);
        Assert.Equal(1, (await app.CountersAsync(site, asOf.AddHours(1))).Total.PageViews);
        using var browser = app.Browser();
        var top = (await browser.GetFromJsonAsync<TopPagesResponse>($"/api/v1/sites/{site}/pages/top?period=total"))!;
        Assert.Equal([("/tin/1", 5433L), ("/tin/6", 7L)], top.Pages.Select(p => (p.Page, p.PageViews)));

        using var auditor = app.WithKey(StatsApp.AuditorKey);
        var history = (await auditor.GetStringAsync($"/api/v1/sites/{site}/events")).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement).Where(e => e.GetProperty("kind").GetString() == "pageBaseline").ToList();
        Assert.Equal(["https://portal.test/tin/1/?utm_source=x", "https://portal.test/tin/6"], history.Select(e => e.GetProperty("url").GetString()));
        Assert.Equal(5432, history[0].GetProperty("details").GetProperty("pageViews").GetInt64());
    }

    [Fact]
    public async Task a_retried_page_baseline_is_recorded_once_and_a_reused_key_with_another_body_is_409()
    {
        var site = await app.NewSiteAsync();
        using var admin = app.WithKey(StatsApp.AdminKey);
        var request = new PageBaselineRequest(Morning, [new PageBaselineItem("https://portal.test/tin/1", 100)]);

        HttpResponseMessage Send(PageBaselineRequest body)
        {
            var message = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/sites/{site}/pages:baseline") { Content = JsonContent.Create(body) };
            message.Headers.Add("Idempotency-Key", "nukeviet-2026-11-10");
            return admin.SendAsync(message).GetAwaiter().GetResult();
        }

        var first = Send(request);
        var second = Send(request);
        var other = Send(request with { Pages = [new PageBaselineItem("https://portal.test/tin/1", 200)] });

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Conflict), (first.StatusCode, second.StatusCode, other.StatusCode));
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.Equal(100, (await PageAsync(site, "https://portal.test/tin/1", Morning.AddDays(1))).Total.PageViews);
    }

    [Theory]
    [InlineData("""{"pages":[{"url":"https://portal.test/a","pageViews":1}]}""")]
    [InlineData("""{"asOf":"2026-11-10T10:00:00","pages":[{"url":"https://portal.test/a","pageViews":1}]}""")]
    [InlineData("""{"asOf":"2999-01-01T00:00:00Z","pages":[{"url":"https://portal.test/a","pageViews":1}]}""")]
    [InlineData("""{"asOf":"2026-11-10T10:00:00+07:00","pages":[]}""")]
    [InlineData("""{"asOf":"2026-11-10T10:00:00+07:00"}""")]
    [InlineData("""[1,2,3]""")]
    public async Task a_page_baseline_request_that_is_not_one_is_400_and_records_nothing(string body)
    {
        var site = await app.NewSiteAsync();
        using var admin = app.WithKey(StatsApp.AdminKey);

        var response = await admin.PostAsync($"/api/v1/sites/{site}/pages:baseline", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, (await PageAsync(site, "https://portal.test/a")).Total.PageViews);
    }

    [Fact]
    public async Task only_the_admin_key_records_page_baselines()
    {
        var site = await app.NewSiteAsync();
        var request = new PageBaselineRequest(Morning, [new PageBaselineItem("https://portal.test/a", 1)]);
        using var auditor = app.WithKey(StatsApp.AuditorKey);
        using var browser = app.Browser();

        Assert.Equal(HttpStatusCode.Forbidden, (await auditor.PostAsJsonAsync($"/api/v1/sites/{site}/pages:baseline", request)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.PostAsJsonAsync($"/api/v1/sites/{site}/pages:baseline", request)).StatusCode);
    }

    [Fact]
    public async Task a_view_sent_now_is_counted_for_its_page_within_seconds()
    {
        var site = await app.NewSiteAsync();
        using var browser = app.Browser();
        var view = await browser.PostAsJsonAsync($"/api/v1/sites/{site}/views", new PageViewRequest("https://portal.test/tin/moi?utm_source=fb", null, "Tin mới"));
        Assert.Equal(HttpStatusCode.Accepted, view.StatusCode);

        PageViewsResponse? page = null;
        await Eventually.Until(async () => (page = await PageAsync(site, "https://portal.test/tin/moi")).Day.PageViews == 1, TimeSpan.FromSeconds(30),
            "the view should reach its page's counters");
        Assert.Equal((1L, 1L, "Tin mới"), (page!.Week.PageViews, page.Total.PageViews, page.Title));
    }

    private static string PeriodKeyOfThisWeek()
    {
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("Asia/Ho_Chi_Minh")).DateTime);
        var date = today.ToDateTime(TimeOnly.MinValue);
        return $"{System.Globalization.ISOWeek.GetYear(date):D4}-W{System.Globalization.ISOWeek.GetWeekOfYear(date):D2}";
    }

    [Fact]
    public async Task wide_as_of_reads_never_hold_every_turn_so_a_sites_as_of_read_goes_on_beside_them()
    {
        // A host of its own: its as-of turns are held here on purpose.
        var connection = await app.Database.CreateDatabaseAsync("turns");
        await using var host = app.Create(connection, new Dictionary<string, string?>());
        using var admin = StatsApp.ClientOf(host, StatsApp.AdminKey);
        (await admin.PutAsJsonAsync("/api/v1/sites/turns", new SiteRequest("Turns", "Asia/Ho_Chi_Minh", ["portal.test"], 5, PublishStats: true)))
            .EnsureSuccessStatusCode();
        var asOf = host.Services.GetRequiredService<CountersAsOf>();

        // As many wide reads as there are turns, each holding its turn until released (a most-read list of thousands of
        // pages, slowed down to forever).
        var entered = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var wide = Enumerable.Range(0, CountersAsOf.ReadersAtOnce).Select(_ => asOf.ReadCaughtUpAsync(
            batch => batch.BatchCommands.Add(new Npgsql.NpgsqlBatchCommand("SELECT 1")),
            async _ =>
            {
                Interlocked.Increment(ref entered);
                await release.Task;
                return "read";
            }, wide: true, CancellationToken.None)).ToList();
        await Eventually.Until(() => Task.FromResult(Volatile.Read(ref entered) == CountersAsOf.WideReadersAtOnce),
            because: "the wide reads did not take their turns");

        // One turn is left: a site's as-of read is answered while they hold the others (unbounded, it would wait for them).
        using var browser = StatsApp.ClientOf(host, null);
        var counters = await browser.GetAsync($"/api/v1/sites/turns/counters?asOf={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O"))}")
            .WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, counters.StatusCode);
        Assert.Equal(CountersAsOf.WideReadersAtOnce, Volatile.Read(ref entered));

        // Released, the wide read that waited reads too.
        release.SetResult();
        Assert.All(await Task.WhenAll(wide), result => Assert.Equal("read", result));
    }
}
