using System.Text;

namespace CCHC.Stats.IntegrationTests;

public sealed class BatchImportTests(StatsApp app)
{
    private static readonly DateTimeOffset Morning = new(2026, 11, 2, 9, 0, 0, TimeSpan.FromHours(7));

    [Fact]
    public async Task invalid_items_are_rejected_alone_and_the_rest_recorded()
    {
        var site = await app.NewSiteAsync();
        using var ingest = app.WithKey(StatsApp.IngestKey);
        BatchViewItem[] items =
        [
            new("https://portal.test/1", null, null, Morning, "v1", null),
            new("https://evil.example/2", null, null, Morning, "v1", null),
            new("https://portal.test/3", null, null, null, "v1", null),
            new("https://portal.test/4", null, null, DateTimeOffset.UtcNow.AddMinutes(30), "v1", null),
            new("https://portal.test/5", null, null, Morning, null, null),
            new("https://portal.test/6", null, null, Morning, "v2", "Googlebot/2.1 (+http://www.google.com/bot.html)"),
            new("not a url", null, null, Morning, "v1", null),
            new("https://sub.portal.test/8", null, null, Morning.AddMinutes(1), "v1", null),
        ];

        var response = await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch", items);
        var result = await response.Content.ReadFromJsonAsync<BatchResult>();

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(3, result!.Accepted);
        Assert.Equal(1, result.Bots);
        Assert.Equal([1, 2, 3, 4, 6], result.Rejected.Select(r => r.Index));
        Assert.Contains("not allowed", result.Rejected[0].Reason);
        Assert.Equal(["https://portal.test/1", "https://sub.portal.test/8"], await EventRows.UrlsOfSiteAsync(app.ConnectionString, site));
    }

    [Fact]
    public async Task ndjson_is_accepted_and_a_malformed_line_is_rejected_alone()
    {
        var site = await app.NewSiteAsync();
        using var ingest = app.WithKey(StatsApp.IngestKey);
        var body = $$"""
            {"url":"https://portal.test/a","occurredAt":"2026-11-02T09:00:00+07:00","visitorId":"v1"}
            {"url":"https://portal.test/b","occurredAt":
            {"url":"https://portal.test/c","occurredAt":"2026-11-02T09:05:00+07:00","visitorId":"v1"}
            """;

        var response = await ingest.PostAsync($"/api/v1/sites/{site}/views:batch", new StringContent(body, Encoding.UTF8, "application/x-ndjson"));
        var result = await response.Content.ReadFromJsonAsync<BatchResult>();

        Assert.Equal(2, result!.Accepted);
        Assert.Equal(1, Assert.Single(result.Rejected).Index);
    }

    [Fact]
    public async Task the_batch_endpoint_needs_the_ingest_key()
    {
        var site = await app.NewSiteAsync();
        using var admin = app.WithKey(StatsApp.AdminKey);
        using var anonymous = app.Browser();
        var items = new[] { new BatchViewItem("https://portal.test/1", null, null, Morning, "v1", null) };

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch", items)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch", items)).StatusCode);
        Assert.Empty(await EventRows.UrlsOfSiteAsync(app.ConnectionString, site));
    }

    [Fact]
    public async Task more_than_10000_items_is_refused_whole()
    {
        var site = await app.NewSiteAsync();
        using var ingest = app.WithKey(StatsApp.IngestKey);
        var items = Enumerable.Range(0, 10_001).Select(i => new BatchViewItem($"https://portal.test/{i}", null, null, Morning, "v", null));

        var response = await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch", items);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(await EventRows.UrlsOfSiteAsync(app.ConnectionString, site));
    }

    [Fact]
    public async Task a_malformed_field_rejects_its_item_alone_in_plain_words()
    {
        var site = await app.NewSiteAsync();
        using var ingest = app.WithKey(StatsApp.IngestKey);
        var body = """
            [{"url":"https://portal.test/ok","occurredAt":"2026-11-02T09:00:00+07:00","visitorId":"v1"},
             {"url":"https://portal.test/no-offset","occurredAt":"2026-11-02T09:00:00","visitorId":"v1"},
             {"url":"https://portal.test/not-a-time","occurredAt":"tomorrow","visitorId":"v1"},
             {"url":12345,"occurredAt":"2026-11-02T09:00:00+07:00","visitorId":"v1"},
             {"url":"https://portal.test/visitor","occurredAt":"2026-11-02T09:00:00+07:00","visitorId":["v1"]},
             "not an object",
             {"url":"https://portal.test/ok2","occurredAt":"2026-11-02T02:01:00Z","visitorId":"v2"}]
            """;

        var response = await ingest.PostAsync($"/api/v1/sites/{site}/views:batch", new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        var result = System.Text.Json.JsonSerializer.Deserialize<BatchResult>(text, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(2, result!.Accepted);
        Assert.Equal([1, 2, 3, 4, 5], result.Rejected.Select(r => r.Index));
        Assert.Contains("'occurredAt'", result.Rejected[0].Reason);
        Assert.Contains("offset", result.Rejected[0].Reason);
        Assert.Contains("'url'", result.Rejected[2].Reason);
        Assert.Contains("'visitorId'", result.Rejected[3].Reason);
        Assert.DoesNotContain("BytePosition", text);
        Assert.DoesNotContain("Path:", text);
        Assert.Equal(["https://portal.test/ok", "https://portal.test/ok2"], await EventRows.UrlsOfSiteAsync(app.ConnectionString, site));
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("[{\"url\":")]
    [InlineData("\"a string\"")]
    [InlineData("{\"an\":\"object\"}]")]
    public async Task only_a_body_that_is_neither_an_array_nor_ndjson_is_400(string body)
    {
        var site = await app.NewSiteAsync();
        using var ingest = app.WithKey(StatsApp.IngestKey);

        var response = await ingest.PostAsync($"/api/v1/sites/{site}/views:batch", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);

        Assert.Empty(await EventRows.UrlsOfSiteAsync(app.ConnectionString, site));
    }
}
