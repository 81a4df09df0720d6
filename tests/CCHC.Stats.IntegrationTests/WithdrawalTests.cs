using System.Text;
using System.Text.Json;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Retries;

namespace CCHC.Stats.IntegrationTests;

/// <summary>A baseline typed wrongly is withdrawn by an event: the right figures before and after, and an audit trail.</summary>
public sealed class WithdrawalTests(StatsApp app)
{
    private static readonly TimeSpan Hanoi = TimeSpan.FromHours(7);
    private static readonly DateTimeOffset AsOf = new(2026, 11, 10, 10, 0, 0, Hanoi);

    private async Task<long> BaselineAsync(string site, long total)
    {
        using var admin = app.WithKey(StatsApp.AdminKey);
        var figures = new BaselineFigures(1, 2, 3, 4, total);
        var response = await admin.PostAsJsonAsync($"/api/v1/sites/{site}/baseline", new BaselineRequest(AsOf, figures, figures));
        response.EnsureSuccessStatusCode();
        var rows = await ExportAsync(site);
        return rows.Last(r => r.GetProperty("kind").GetString() == "baseline").GetProperty("sequence").GetInt64();
    }

    private async Task<List<JsonElement>> ExportAsync(string site)
    {
        using var auditor = app.WithKey(StatsApp.AuditorKey);
        var text = await auditor.GetStringAsync($"/api/v1/sites/{site}/events");
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }

    private async Task<HttpResponseMessage> WithdrawAsync(string site, long sequence, string? key = null, string? reason = null)
    {
        using var admin = app.WithKey(StatsApp.AdminKey);
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/sites/{site}/baseline/{sequence}:withdraw");
        if (reason is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(new { reason }), Encoding.UTF8, "application/json");
        }

        if (key is not null)
        {
            request.Headers.Add(Idempotency.Header, key);
        }

        return await admin.SendAsync(request);
    }

    [Fact]
    public async Task a_withdrawn_baseline_stops_counting_from_its_moment_and_asOf_before_still_shows_it()
    {
        var site = await app.NewSiteAsync();
        var wrong = await BaselineAsync(site, 9_999_999);
        await BaselineAsync(site, 1000);
        await app.CatchUpAsync();
        Assert.Equal(10_000_999, (await app.CountersAsync(site)).Total.PageViews);
        var beforeWithdrawal = DateTimeOffset.UtcNow;

        var response = await WithdrawAsync(site, wrong, reason: "typed one 9 too many");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await app.CatchUpAsync();
        Assert.Equal(1000, (await app.CountersAsync(site)).Total.PageViews);
        Assert.Equal(1000, (await app.CountersAsync(site, DateTimeOffset.UtcNow)).Total.PageViews);
        Assert.Equal(10_000_999, (await app.CountersAsync(site, beforeWithdrawal)).Total.PageViews);
        var rows = await ExportAsync(site);
        var withdrawal = Assert.Single(rows, r => r.GetProperty("kind").GetString() == "baselineWithdrawn");
        Assert.Equal(wrong, withdrawal.GetProperty("details").GetProperty("baselineSequence").GetInt64());
        Assert.Equal("typed one 9 too many", withdrawal.GetProperty("details").GetProperty("reason").GetString());
        Assert.Equal(2, rows.Count(r => r.GetProperty("kind").GetString() == "baseline"));
        using var auditor = app.WithKey(StatsApp.AuditorKey);
        var report = await auditor.GetFromJsonAsync<JsonElement>($"/api/v1/sites/{site}/verify");
        Assert.True(report.GetProperty("healthy").GetBoolean(), report.ToString());
    }

    [Fact]
    public async Task withdrawing_twice_is_a_conflict_and_a_retry_with_its_key_answers_the_same()
    {
        var site = await app.NewSiteAsync();
        var sequence = await BaselineAsync(site, 500);

        var first = await WithdrawAsync(site, sequence, key: "withdraw-1");
        var retry = await WithdrawAsync(site, sequence, key: "withdraw-1");
        var again = await WithdrawAsync(site, sequence);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Single(await ExportAsync(site), r => r.GetProperty("kind").GetString() == "baselineWithdrawn");
    }

    [Fact]
    public async Task withdrawals_at_the_same_moment_record_one()
    {
        var site = await app.NewSiteAsync();
        var sequence = await BaselineAsync(site, 500);

        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => WithdrawAsync(site, sequence)));

        Assert.Equal(1, answers.Count(a => a.StatusCode == HttpStatusCode.OK));
        Assert.All(answers.Where(a => a.StatusCode != HttpStatusCode.OK), a => Assert.Equal(HttpStatusCode.Conflict, a.StatusCode));
        Assert.Single(await ExportAsync(site), r => r.GetProperty("kind").GetString() == "baselineWithdrawn");
    }

    [Fact]
    public async Task only_a_baseline_of_the_site_can_be_withdrawn()
    {
        var site = await app.NewSiteAsync();
        var other = await app.NewSiteAsync();
        var othersBaseline = await BaselineAsync(other, 500);
        using var ingest = app.WithKey(StatsApp.IngestKey);
        await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch", new[] { new BatchViewItem("https://portal.test/", null, null, AsOf, "v", null) });
        var view = (await ExportAsync(site)).Single().GetProperty("sequence").GetInt64();

        Assert.Equal(HttpStatusCode.NotFound, (await WithdrawAsync(site, othersBaseline)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await WithdrawAsync(site, view)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await WithdrawAsync(site, 987_654_321)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await WithdrawAsync("no-such-site", othersBaseline)).StatusCode);
        using var auditor = app.WithKey(StatsApp.AuditorKey);
        var forbidden = await auditor.PostAsync($"/api/v1/sites/{other}/baseline/{othersBaseline}:withdraw", null);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
    }

    [Fact]
    public async Task the_sum_of_a_sites_baselines_is_bounded_too()
    {
        var site = await app.NewSiteAsync();
        using var admin = app.WithKey(StatsApp.AdminKey);
        var max = new BaselineFigures(0, 0, 0, 0, BaselineCounts.Max);

        var first = await admin.PostAsJsonAsync($"/api/v1/sites/{site}/baseline", new BaselineRequest(AsOf, max, max));
        var second = await admin.PostAsJsonAsync($"/api/v1/sites/{site}/baseline", new BaselineRequest(AsOf, max, max));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, second.StatusCode);
        Assert.Equal(BaselineCounts.Max, (await app.CountersAsync(site, AsOf.AddDays(1))).Total.PageViews);
    }
}
