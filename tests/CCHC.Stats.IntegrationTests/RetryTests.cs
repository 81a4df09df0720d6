using System.Text;
using CCHC.Stats.Api.Retries;
using Microsoft.Extensions.DependencyInjection;

namespace CCHC.Stats.IntegrationTests;

/// <summary>Idempotency-Key on every POST that adds to the history: a retry records nothing more and answers the same.</summary>
public sealed class RetryTests(StatsApp app)
{
    private static readonly DateTimeOffset Morning = new(2026, 11, 16, 9, 0, 0, TimeSpan.FromHours(7));

    private static HttpRequestMessage Post(string path, string body, string? key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Add(Idempotency.Header, key);
        }

        return request;
    }

    private static string Batch(params (string Url, DateTimeOffset At, string Visitor)[] views) =>
        System.Text.Json.JsonSerializer.Serialize(views.Select(v => new { url = v.Url, occurredAt = v.At, visitorId = v.Visitor }));

    [Fact]
    public async Task a_batch_sent_again_with_its_key_records_once_and_answers_the_same()
    {
        var site = await app.NewSiteAsync();
        using var ingest = app.WithKey(StatsApp.IngestKey);
        var body = Batch(("https://portal.test/a", Morning, "v1"), ("https://elsewhere.example/", Morning, "v1"), ("https://portal.test/b", Morning.AddMinutes(1), "v2"));

        var first = await ingest.SendAsync(Post($"/api/v1/sites/{site}/views:batch", body, "import-2026-11-16"));
        var again = await ingest.SendAsync(Post($"/api/v1/sites/{site}/views:batch", body, "import-2026-11-16"));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(first.StatusCode, again.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await again.Content.ReadAsStringAsync());
        Assert.Equal("true", again.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(2, (await EventRows.UrlsOfSiteAsync(app.ConnectionString, site)).Count);
        Assert.Equal(2, (await app.CountersAsync(site, Morning.AddHours(1))).Day.PageViews);
    }

    [Fact]
    public async Task the_same_key_with_another_body_is_a_conflict_and_records_nothing()
    {
        var site = await app.NewSiteAsync();
        using var ingest = app.WithKey(StatsApp.IngestKey);

        var first = await ingest.SendAsync(Post($"/api/v1/sites/{site}/views:batch", Batch(("https://portal.test/a", Morning, "v1")), "k1"));
        var other = await ingest.SendAsync(Post($"/api/v1/sites/{site}/views:batch", Batch(("https://portal.test/b", Morning, "v1")), "k1"));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
        Assert.Equal("application/problem+json", other.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["https://portal.test/a"], await EventRows.UrlsOfSiteAsync(app.ConnectionString, site));
    }

    [Fact]
    public async Task requests_with_one_key_at_the_same_moment_record_once()
    {
        var site = await app.NewSiteAsync();
        var body = Batch(Enumerable.Range(0, 50).Select(i => ($"https://portal.test/{i}", Morning.AddSeconds(i), $"v{i % 7}")).ToArray());
        var clients = Enumerable.Range(0, 8).Select(_ => app.WithKey(StatsApp.IngestKey)).ToList();

        var answers = await Task.WhenAll(clients.Select(c => c.SendAsync(Post($"/api/v1/sites/{site}/views:batch", body, "same-moment"))));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Accepted, a.StatusCode));
        Assert.Single((await Task.WhenAll(answers.Select(a => a.Content.ReadAsStringAsync()))).Distinct());
        Assert.Equal(1, answers.Count(a => !a.Headers.Contains("Idempotent-Replayed")));
        Assert.Equal(50, (await EventRows.UrlsOfSiteAsync(app.ConnectionString, site)).Count);
        clients.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task a_baseline_posted_twice_with_its_key_counts_once()
    {
        var site = await app.NewSiteAsync();
        using var admin = app.WithKey(StatsApp.AdminKey);
        var body = """{"asOf":"2026-11-16T08:00:00+07:00","pageViews":{"day":5,"week":50,"month":500,"year":5000,"total":50000},"visits":{"day":5,"week":50,"month":500,"year":5000,"total":50000}}""";

        var first = await admin.SendAsync(Post($"/api/v1/sites/{site}/baseline", body, "carry-over"));
        var again = await admin.SendAsync(Post($"/api/v1/sites/{site}/baseline", body, "carry-over"));
        var unkeyed = await admin.SendAsync(Post($"/api/v1/sites/{site}/baseline", body, null));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await again.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, unkeyed.StatusCode);
        Assert.Equal(100_000, (await app.CountersAsync(site, Morning)).Total.PageViews);
    }

    [Theory]
    [InlineData("tab\tinside")]
    [InlineData("khóa")]
    public async Task a_malformed_key_is_400_and_records_nothing(string key)
    {
        var site = await app.NewSiteAsync();
        using var ingest = app.WithKey(StatsApp.IngestKey);
        var request = Post($"/api/v1/sites/{site}/views:batch", Batch(("https://portal.test/a", Morning, "v1")), null);
        request.Headers.TryAddWithoutValidation(Idempotency.Header, key);

        var response = await ingest.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(await EventRows.UrlsOfSiteAsync(app.ConnectionString, site));
    }

    [Fact]
    public async Task a_key_too_long_is_400()
    {
        var site = await app.NewSiteAsync();
        using var ingest = app.WithKey(StatsApp.IngestKey);

        var response = await ingest.SendAsync(Post($"/api/v1/sites/{site}/views:batch", Batch(("https://portal.test/a", Morning, "v1")), new string('k', 201)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task keys_older_than_seven_days_are_forgotten()
    {
        var site = await app.NewSiteAsync();
        using var ingest = app.WithKey(StatsApp.IngestKey);
        var body = Batch(("https://portal.test/a", Morning, "v1"));
        (await ingest.SendAsync(Post($"/api/v1/sites/{site}/views:batch", body, "old-key"))).EnsureSuccessStatusCode();

        await app.Services.GetRequiredService<ReceiptSweeper>().SweepAsync(DateTimeOffset.UtcNow.AddDays(7).AddMinutes(1), CancellationToken.None);
        var later = await ingest.SendAsync(Post($"/api/v1/sites/{site}/views:batch", body, "old-key"));

        Assert.Equal(HttpStatusCode.Accepted, later.StatusCode);
        Assert.False(later.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, (await EventRows.UrlsOfSiteAsync(app.ConnectionString, site)).Count);
    }

    [Fact]
    public async Task keys_belong_to_their_site()
    {
        var one = await app.NewSiteAsync();
        var two = await app.NewSiteAsync();
        using var ingest = app.WithKey(StatsApp.IngestKey);
        var body = Batch(("https://portal.test/a", Morning, "v1"));

        (await ingest.SendAsync(Post($"/api/v1/sites/{one}/views:batch", body, "shared"))).EnsureSuccessStatusCode();
        var other = await ingest.SendAsync(Post($"/api/v1/sites/{two}/views:batch", body, "shared"));

        Assert.Equal(HttpStatusCode.Accepted, other.StatusCode);
        Assert.Single(await EventRows.UrlsOfSiteAsync(app.ConnectionString, two));
    }
}
