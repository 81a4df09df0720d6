using System.Text.RegularExpressions;

namespace CCHC.Stats.IntegrationTests;

public sealed class AbuseTests(StatsApp app)
{
    [Fact]
    public async Task a_client_over_its_rate_limit_gets_429_with_retry_after_and_is_not_counted()
    {
        var connection = await app.Database.CreateDatabaseAsync("ratelimit");
        await using var host = app.Create(connection, new Dictionary<string, string?> { ["Stats:ViewsPerClientPerMinute"] = "3" });
        using var admin = host.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new("Bearer", StatsApp.AdminKey);
        (await admin.PutAsJsonAsync("/api/v1/sites/limited", new SiteRequest("Limited", null, ["portal.test"], null))).EnsureSuccessStatusCode();
        using var browser = host.CreateClient();
        browser.DefaultRequestHeaders.UserAgent.ParseAdd(StatsApp.BrowserAgent);

        var statuses = new List<HttpResponseMessage>();
        for (var i = 0; i < 5; i++)
        {
            statuses.Add(await browser.PostAsJsonAsync("/api/v1/sites/limited/views", new PageViewRequest($"https://portal.test/{i}")));
        }

        Assert.Equal([202, 202, 202, 429, 429], statuses.Select(s => (int)s.StatusCode));
        Assert.True(statuses[3].Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Equal("application/problem+json", statuses[3].Content.Headers.ContentType?.MediaType);
        Assert.Equal(3, (await EventRows.UrlsOfSiteAsync(connection, "limited")).Count);
        var metrics = await browser.GetStringAsync("/metrics");
        Assert.Matches("cchc_views_refused_total\\{[^}]*reason=\"rate_limited\"[^}]*site=\"limited\"[^}]*\\} 2", metrics);
    }

    [Fact]
    public async Task refused_views_are_counted_by_site_and_reason()
    {
        var site = await app.NewSiteAsync();
        using var browser = app.Browser();
        using var bot = app.Browser();
        bot.DefaultRequestHeaders.UserAgent.Clear();
        bot.DefaultRequestHeaders.UserAgent.ParseAdd("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)");

        await browser.PostAsJsonAsync($"/api/v1/sites/{site}/views", new PageViewRequest("https://elsewhere.example/"));
        await browser.PostAsJsonAsync($"/api/v1/sites/{site}/views", new PageViewRequest("nonsense"));
        await bot.PostAsJsonAsync($"/api/v1/sites/{site}/views", new PageViewRequest("https://portal.test/"));
        var patterns = new[] { "host_not_allowed", "invalid", "bot" }
            .Select(reason => new Regex($"cchc_views_refused_total\\{{[^}}]*reason=\"{reason}\"[^}}]*site=\"{site}\"[^}}]*\\}} 1"))
            .ToList();

        // The exporter caches a scrape briefly; wait for one taken after the views above.
        var metrics = "";
        await Eventually.Until(async () =>
        {
            metrics = await browser.GetStringAsync("/metrics");
            return patterns.All(p => p.IsMatch(metrics));
        }, TimeSpan.FromSeconds(10), "a scrape should show every refusal");

        foreach (var pattern in patterns)
        {
            Assert.Matches(pattern, metrics);
        }
    }
}
