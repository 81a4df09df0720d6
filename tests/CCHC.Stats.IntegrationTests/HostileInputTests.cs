using System.Net.Sockets;
using System.Text;
using CCHC.Stats.Api.Ingestion;
using Microsoft.Extensions.DependencyInjection;

namespace CCHC.Stats.IntegrationTests;

/// <summary>
/// What a hostile or careless sender can do: never a 5xx for what it sent, always problem+json, nothing stored from a
/// refused request, and no harm to any other sender.
/// </summary>
public sealed class HostileInputTests(StatsApp app)
{
    private const string Nul = "\\u0000";

    [Fact]
    public async Task poisoned_views_beside_ordinary_ones_are_refused_alone_and_every_ordinary_view_is_counted()
    {
        var site = await app.NewSiteAsync();
        const int ordinarySenders = 32, poisonSenders = 4, viewsEach = 15;
        var poisons = new[]
        {
            $$"""{"url":"https://portal.test/a","referrer":"https://www.google.com/{{Nul}}"}""",
            $$"""{"url":"https://portal.test/a{{Nul}}"}""",
            $$"""{"url":"https://portal.test/a","title":"Tin {{Nul}} tức"}""",
            """{"url":"https://portal.test/a","title":"half \ud800 surrogate"}""",
        };

        async Task<List<HttpStatusCode>> Send(Func<int, HttpContent> body)
        {
            using var browser = app.Browser();
            var statuses = new List<HttpStatusCode>();
            for (var i = 0; i < viewsEach; i++)
            {
                statuses.Add((await browser.PostAsync($"/api/v1/sites/{site}/views", body(i))).StatusCode);
            }

            return statuses;
        }

        var ordinary = Enumerable.Range(0, ordinarySenders).Select(s => Send(i => JsonContent.Create(new PageViewRequest($"https://portal.test/{s}/{i}")))).ToList();
        var poisoned = Enumerable.Range(0, poisonSenders).Select(s => Send(_ => new StringContent(poisons[s], Encoding.UTF8, "application/json"))).ToList();
        await Task.WhenAll(ordinary.Concat(poisoned));

        Assert.All(ordinary.SelectMany(t => t.Result), s => Assert.Equal(HttpStatusCode.Accepted, s));
        Assert.All(poisoned.SelectMany(t => t.Result), s => Assert.Equal(HttpStatusCode.BadRequest, s));
        Assert.Equal(ordinarySenders * viewsEach, (await EventRows.UrlsOfSiteAsync(app.ConnectionString, site)).Count);
        await app.CatchUpAsync();
        Assert.Equal(ordinarySenders * viewsEach, (await app.CountersAsync(site)).Day.PageViews);
    }

    /// <summary>
    /// Behind the door: should a value the door does not know of reach a commit group, the store's refusal costs only
    /// the view that holds it. Handed to the batcher directly, the way the door hands views, with ordinary ones at once.
    /// </summary>
    [Fact]
    public async Task a_group_the_store_refuses_for_one_view_is_committed_without_it()
    {
        var connection = await app.Database.CreateDatabaseAsync("poisongroup");
        await using var host = app.Create(connection, new Dictionary<string, string?> { ["Stats:RunProjections"] = "false", ["Stats:SealDays"] = "false" });
        using var admin = StatsApp.ClientOf(host, StatsApp.AdminKey);
        (await admin.PutAsJsonAsync("/api/v1/sites/poison", new SiteRequest("Poison", null, ["portal.test"], null))).EnsureSuccessStatusCode();
        var batcher = host.Services.GetRequiredService<ViewBatcher>();
        var at = new DateTimeOffset(2026, 11, 20, 9, 0, 0, TimeSpan.FromHours(7));
        PageViewed View(string url) => new("poison", at, "visitor", url, null, null);

        var good = Enumerable.Range(0, 60).Select(i => batcher.RecordAsync(View($"https://portal.test/{i}"), CancellationToken.None)).ToList();
        var bad = batcher.RecordAsync(View("https://portal.test/\0"), CancellationToken.None);
        var more = Enumerable.Range(60, 60).Select(i => batcher.RecordAsync(View($"https://portal.test/{i}"), CancellationToken.None)).ToList();

        await Task.WhenAll(good.Concat(more));
        await Assert.ThrowsAsync<UnstorableViewException>(() => bad);
        Assert.Equal(120, (await EventRows.UrlsOfSiteAsync(connection, "poison")).Count);
    }

    [Fact]
    public async Task a_site_name_the_store_cannot_hold_is_400_and_stores_nothing()
    {
        using var admin = app.WithKey(StatsApp.AdminKey);
        var siteId = $"n-{Guid.NewGuid():N}"[..16];

        var response = await admin.PutAsync($"/api/v1/sites/{siteId}",
            new StringContent($$"""{"name":"Cổng{{Nul}}","allowedHosts":["portal.test"]}""", Encoding.UTF8, "application/json"));

        await AssertProblem(response, HttpStatusCode.BadRequest);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/v1/sites/{siteId}")).StatusCode);
    }

    [Theory]
    [InlineData("0001-01-01T00:00:00Z")]
    [InlineData("9999-12-31T23:59:59+14:00")]
    [InlineData("-0001-01-01T00:00:00Z")]
    [InlineData("2026-12-03T10:00:00")]
    [InlineData("2026-13-45T99:00:00Z")]
    public async Task counters_as_of_an_extreme_or_malformed_moment_are_400(string asOf)
    {
        var site = await app.NewSiteAsync();
        using var browser = app.Browser();

        var response = await browser.GetAsync($"/api/v1/sites/{site}/counters?asOf={Uri.EscapeDataString(asOf)}");

        var problem = await AssertProblem(response, HttpStatusCode.BadRequest);
        Assert.Contains("asOf", problem);
    }

    [Fact]
    public async Task a_batch_with_an_extreme_time_rejects_that_item_alone()
    {
        var site = await app.NewSiteAsync();
        using var ingest = app.WithKey(StatsApp.IngestKey);
        var body = """
            [{"url":"https://portal.test/1","occurredAt":"0001-01-01T00:00:00Z","visitorId":"v"},
             {"url":"https://portal.test/2","occurredAt":"2026-11-20T09:00:00+07:00","visitorId":"v"}]
            """;

        var response = await ingest.PostAsync($"/api/v1/sites/{site}/views:batch", new StringContent(body, Encoding.UTF8, "application/json"));
        var result = await response.Content.ReadFromJsonAsync<BatchResult>();

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(1, result!.Accepted);
        Assert.Equal(0, Assert.Single(result.Rejected).Index);
        Assert.Equal(["https://portal.test/2"], await EventRows.UrlsOfSiteAsync(app.ConnectionString, site));
    }

    [Fact]
    public async Task an_unknown_field_holding_a_huge_number_is_ignored_and_no_error()
    {
        using var admin = app.WithKey(StatsApp.AdminKey);
        var siteId = $"h-{Guid.NewGuid():N}"[..16];

        var response = await admin.PutAsync($"/api/v1/sites/{siteId}",
            new StringContent("""{"name":"Huge","allowedHosts":["portal.test"],"extra":1e400}""", Encoding.UTF8, "application/json"));

        Assert.True((int)response.StatusCode < 500, $"answered {(int)response.StatusCode}");
    }

    [Fact]
    public async Task a_chunked_body_with_a_bad_chunk_size_is_400_not_500()
    {
        await using var host = app.Create(app.ConnectionString, new Dictionary<string, string?> { ["Stats:RunProjections"] = "false", ["Stats:SealDays"] = "false" });
        host.UseKestrel(0);
        host.StartServer();
        var site = await app.NewSiteAsync();
        var address = new Uri(host.ClientOptions.BaseAddress.ToString());
        var paths = new[] { $"/api/v1/sites/{site}/views", $"/api/v1/sites/{site}/views:batch", $"/api/v1/sites/{site}" };
        foreach (var path in paths)
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(address.Host, address.Port);
            await using var stream = tcp.GetStream();
            var method = path.EndsWith(site) ? "PUT" : "POST";
            var request = $"{method} {path} HTTP/1.1\r\nHost: {address.Authority}\r\nAuthorization: Bearer {(path.EndsWith("batch") ? StatsApp.IngestKey : StatsApp.AdminKey)}\r\n" +
                          $"Content-Type: application/json\r\nUser-Agent: {StatsApp.BrowserAgent}\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n{{}}\r\n0\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
            var buffer = new byte[4096];
            var read = await stream.ReadAsync(buffer);
            var statusLine = Encoding.ASCII.GetString(buffer, 0, read).Split("\r\n")[0];

            Assert.StartsWith("HTTP/1.1 400", statusLine);
        }
    }

    public static TheoryData<string, string, string?, string?> Requests => new()
    {
        { "GET", "/api/v1/sites/{site}/counters?asOf=", null, null },
        { "GET", "/api/v1/sites/{site}/counters?asOf=%00", null, null },
        { "GET", "/api/v1/sites/{site}/events?from=0001-01-01T00:00:00Z", null, StatsApp.AuditorKey },
        { "GET", "/api/v1/sites/{site}/events?to=9999-12-31T00:00:00Z", null, StatsApp.AuditorKey },
        { "GET", "/api/v1/sites/{site}/events?from=2026-12-03T10:00:00", null, StatsApp.AuditorKey },
        { "GET", "/api/v1/sites/{site}/verify?from=0001-01-01T00:00:00%2B07:00", null, StatsApp.AuditorKey },
        { "GET", "/api/v1/sites/{site}/counter.svg?period=%00&metric=%00", null, null },
        { "POST", "/api/v1/sites/{site}/views", "[1,2,3]", null },
        { "POST", "/api/v1/sites/{site}/views", "\"just a string\"", null },
        { "POST", "/api/v1/sites/{site}/views", """{"url":{"nested":true}}""", null },
        { "POST", "/api/v1/sites/{site}/views", """{"url":"https://portal.test/","title":12}""", null },
        { "POST", "/api/v1/sites/{site}/views", """{"url":"https://portal.test/""", null },
        { "POST", "/api/v1/sites/{site}/views:batch", "[", StatsApp.IngestKey },
        { "POST", "/api/v1/sites/{site}/views:batch", "not json at all", StatsApp.IngestKey },
        { "POST", "/api/v1/sites/{site}/views:batch", "[]", StatsApp.IngestKey },
        { "POST", "/api/v1/sites/{site}/views:batch", "\"a string\"", StatsApp.IngestKey },
        { "POST", "/api/v1/sites/{site}/baseline", """{"asOf":"2026-11-01T00:00:00+07:00","pageViews":{"day":1e400,"week":1,"month":1,"year":1,"total":1}}""", StatsApp.AdminKey },
        { "POST", "/api/v1/sites/{site}/baseline", """{"asOf":"2026-11-01T00:00:00","pageViews":{"day":1,"week":1,"month":1,"year":1,"total":1},"visits":{"day":1,"week":1,"month":1,"year":1,"total":1}}""", StatsApp.AdminKey },
        { "POST", "/api/v1/sites/{site}/baseline", """{"asOf":"0001-01-01T00:00:00Z","pageViews":{"day":1,"week":1,"month":1,"year":1,"total":1},"visits":{"day":1,"week":1,"month":1,"year":1,"total":1}}""", StatsApp.AdminKey },
        { "POST", "/api/v1/sites/{site}/baseline", """{"asOf":"2026-11-01T00:00:00Z","pageViews":{"day":9223372036854775807,"week":9223372036854775807,"month":9223372036854775807,"year":9223372036854775807,"total":9223372036854775807},"visits":{"day":0,"week":0,"month":0,"year":0,"total":0}}""", StatsApp.AdminKey },
        { "POST", "/api/v1/sites/{site}/baseline/abc:withdraw", null, StatsApp.AdminKey },
        { "POST", "/api/v1/sites/{site}/baseline/99999999999999999999999:withdraw", null, StatsApp.AdminKey },
        { "POST", "/api/v1/sites/{site}/baseline/1:withdraw", "{\"reason\":12}", StatsApp.AdminKey },
        { "PUT", "/api/v1/sites/{site}", """{"name":"x","timeZone":"SE Asia Standard Time","allowedHosts":["portal.test"]}""", StatsApp.AdminKey },
        { "PUT", "/api/v1/sites/{site}", """{"name":"x","allowedHosts":["portal.test"],"onlineWindowMinutes":1e400}""", StatsApp.AdminKey },
        { "PUT", "/api/v1/sites/{site}", """{"name":"x","allowedHosts":[null, 5]}""", StatsApp.AdminKey },
        { "PUT", "/api/v1/sites/{site}", """{"name":"x","timeZone":"Asia/Ho_Chi_Minh\u0000","allowedHosts":["portal.test"]}""", StatsApp.AdminKey },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task hostile_requests_get_a_4xx_problem_and_change_nothing(string method, string path, string? body, string? key)
    {
        var site = await app.NewSiteAsync();
        using var client = key is null ? app.Browser() : app.WithKey(key);
        var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{site}", site));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        var response = await client.SendAsync(request);

        await AssertProblem(response, null);
        var counters = await app.CountersAsync(site, DateTimeOffset.UtcNow);
        Assert.Equal(0, counters.Total.PageViews);
        Assert.Equal("Test portal", (await app.WithKey(StatsApp.AdminKey).GetFromJsonAsync<SiteResponse>($"/api/v1/sites/{site}"))!.Name);
    }

    [Fact]
    public async Task a_401_names_the_bearer_scheme()
    {
        var site = await app.NewSiteAsync();
        using var anonymous = app.Browser();

        var response = await anonymous.GetAsync($"/api/v1/sites/{site}");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
    }

    /// <summary>Asserts a 4xx problem+json (of <paramref name="status"/> when given) whose detail shows no parser internals.</summary>
    private static async Task<string> AssertProblem(HttpResponseMessage response, HttpStatusCode? status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"answered {(int)response.StatusCode}: {text}");
        if (status is not null)
        {
            Assert.Equal(status, response.StatusCode);
        }

        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("BytePosition", text);
        Assert.DoesNotContain("LineNumber", text);
        return text;
    }
}
