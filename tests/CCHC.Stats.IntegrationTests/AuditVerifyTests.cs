using System.Text.Json;
using CCHC.Stats.Api.Audit;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CCHC.Stats.IntegrationTests;

/// <summary>Day seals, amendments for late views, and verify naming the days touched behind the service's back.</summary>
public sealed class AuditVerifyTests(StatsApp app)
{
    private static readonly DateTimeOffset First = new(2026, 10, 20, 0, 0, 0, TimeSpan.FromHours(7));

    private sealed record Report(bool Healthy, List<JsonElement> Differences, List<Broken> BrokenSeals);

    private sealed record Broken(string Day, string Reason);

    [Fact]
    public async Task closed_days_are_sealed_late_views_amend_the_seal_and_tampering_is_named()
    {
        var site = await app.NewSiteAsync();
        await ImportAsync(site, Enumerable.Range(0, 90).Select(i => (First.AddHours(i * 0.8), $"v{i % 9}")));
        await app.CatchUpAsync();

        var sealer = app.Services.GetRequiredService<DaySealer>();
        await Eventually.Until(async () => { await sealer.SealAsync(CancellationToken.None); return (await SealsAsync(site)).Count == 3; });
        Assert.True((await VerifyAsync(site)).Healthy);

        // A late import for the second day re-seals it, pointing at the seal it replaces.
        await ImportAsync(site, [(First.AddDays(1).AddHours(13), "late")]);
        await app.CatchUpAsync();
        await Eventually.Until(async () => { await sealer.SealAsync(CancellationToken.None); return (await SealsAsync(site)).Count == 4; });
        var seals = await SealsAsync(site);
        var amended = seals[^1].GetProperty("details");
        Assert.Equal("2026-10-21", amended.GetProperty("day").GetString());
        Assert.Equal(seals.Single(s => s.GetProperty("day").GetString() == "2026-10-21" && s.GetProperty("details").GetProperty("replaces").ValueKind == JsonValueKind.Null)
            .GetProperty("sequence").GetInt64(), amended.GetProperty("replaces").GetInt64());
        Assert.True((await VerifyAsync(site)).Healthy);

        // Behind the service's back: one view of the first day deleted, one of the third day altered.
        await TamperAsync(site,
            """
            DELETE FROM mt_events WHERE seq_id = (SELECT min(seq_id) FROM mt_events WHERE data ->> 'siteId' = @site AND left(data ->> 'occurredAt', 10) = '2026-10-20' AND type = 'page_viewed');
            UPDATE mt_events SET data = jsonb_set(data, '{url}', '"https://portal.test/forged"')
             WHERE seq_id = (SELECT min(seq_id) FROM mt_events WHERE data ->> 'siteId' = @site AND left(data ->> 'occurredAt', 10) = '2026-10-22' AND type = 'page_viewed');
            """);

        var report = await VerifyAsync(site);

        Assert.False(report.Healthy);
        Assert.Equal(["2026-10-20", "2026-10-22"], report.BrokenSeals.Select(b => b.Day).Order());
        Assert.Contains(report.Differences, d => d.GetProperty("period").GetString() == "day" && d.GetProperty("key").GetString() == "2026-10-20"
            && d.GetProperty("metric").GetString() == "pageViews" && d.GetProperty("live").GetInt64() == d.GetProperty("recount").GetInt64() + 1);
        Assert.DoesNotContain(report.Differences, d => d.GetProperty("key").GetString() == "2026-10-21");
        var ranged = await VerifyAsync(site, $"?from={Uri.EscapeDataString(First.AddDays(1).ToString("O"))}&to={Uri.EscapeDataString(First.AddDays(2).ToString("O"))}");
        Assert.Empty(ranged.BrokenSeals);
    }

    [Fact]
    public async Task verify_recounts_the_pages_and_names_a_page_whose_count_was_changed()
    {
        var site = await app.NewSiteAsync();
        using var ingest = app.WithKey(StatsApp.IngestKey);
        (await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch", Enumerable.Range(0, 12).Select(i =>
            new BatchViewItem($"https://portal.test/tin/{i % 3}?utm_source=fb", null, null, First.AddHours(i * 5), $"v{i}", null)))).EnsureSuccessStatusCode();
        using var admin = app.WithKey(StatsApp.AdminKey);
        (await admin.PostAsJsonAsync($"/api/v1/sites/{site}/pages:baseline",
            new PageBaselineRequest(First, [new PageBaselineItem("https://portal.test/tin/1", 500)]))).EnsureSuccessStatusCode();
        await app.CatchUpAsync();
        Assert.True((await VerifyAsync(site)).Healthy);

        await TamperAsync(site,
            $"""
            UPDATE {CCHC.Stats.Api.Counters.CountStore.Table} SET page_views = page_views + 1 WHERE scope = @site AND dimension = 'page' AND key = '/tin/2' AND period = 'month';
            UPDATE {CCHC.Stats.Api.Counters.CountStore.Table} SET baseline_page_views = 5 WHERE scope = @site AND dimension = 'page' AND key = '/tin/1' AND period = 'total';
            """);

        var report = await VerifyAsync(site);

        Assert.False(report.Healthy);
        Assert.Equal([("month", "2026-10", "/tin/2", "pageViews", 5L, 4L), ("total", "all", "/tin/1", "baselinePageViews", 5L, 500L)],
            report.Differences.Select(d => (d.GetProperty("period").GetString(), d.GetProperty("key").GetString(), d.GetProperty("page").GetString(),
                d.GetProperty("metric").GetString(), d.GetProperty("live").GetInt64(), d.GetProperty("recount").GetInt64())));
    }

    [Fact]
    public async Task verify_recounts_the_visits_by_source_and_names_a_source_whose_count_was_changed()
    {
        var site = await app.NewSiteAsync();
        using var ingest = app.WithKey(StatsApp.IngestKey);
        // Six visitors, one visit each: two from Google, one from Facebook, three direct (a later view of a visit keeps its source).
        string?[] referrers = ["https://www.google.com/", "https://www.google.com.vn/search?q=x", "https://l.facebook.com/l.php", null, null, null];
        (await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch", referrers
            .Select((referrer, i) => new BatchViewItem("https://portal.test/", referrer, null, First.AddHours(i), $"s{i}", null))
            .Append(new BatchViewItem("https://portal.test/next", "https://www.bing.com/", null, First.AddMinutes(5), "s0", null)))).EnsureSuccessStatusCode();
        await app.CatchUpAsync();
        Assert.True((await VerifyAsync(site)).Healthy);

        await TamperAsync(site,
            $"""
            UPDATE {CCHC.Stats.Api.Counters.CountStore.Table} SET visits = visits + 1 WHERE scope = @site AND dimension = 'source' AND key = 'google' AND period = 'month';
            DELETE FROM {CCHC.Stats.Api.Counters.CountStore.Table} WHERE scope = @site AND dimension = 'source' AND key = 'facebook' AND period = 'total';
            """);

        var report = await VerifyAsync(site);

        Assert.False(report.Healthy);
        Assert.Equal([("month", "2026-10", "google", "visits", 3L, 2L), ("total", "all", "facebook", "visits", 0L, 1L)],
            report.Differences.Select(d => (d.GetProperty("period").GetString(), d.GetProperty("key").GetString(), d.GetProperty("source").GetString(),
                d.GetProperty("metric").GetString(), d.GetProperty("live").GetInt64(), d.GetProperty("recount").GetInt64())));
    }

    private async Task ImportAsync(string site, IEnumerable<(DateTimeOffset At, string Visitor)> views)
    {
        using var ingest = app.WithKey(StatsApp.IngestKey);
        (await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch",
            views.Select(v => new BatchViewItem("https://portal.test/", null, null, v.At, v.Visitor, null)))).EnsureSuccessStatusCode();
    }

    /// <summary>Changes the store behind the service's back (<c>@site</c> in <paramref name="sql"/> is the site).</summary>
    private async Task TamperAsync(string site, string sql)
    {
        await using var db = new NpgsqlConnection(app.ConnectionString);
        await db.OpenAsync();
        await using var tamper = new NpgsqlCommand(sql, db);
        tamper.Parameters.AddWithValue("site", site);
        await tamper.ExecuteNonQueryAsync();
    }

    private async Task<Report> VerifyAsync(string site, string query = "")
    {
        using var auditor = app.WithKey(StatsApp.AuditorKey);
        return (await auditor.GetFromJsonAsync<Report>($"/api/v1/sites/{site}/verify{query}"))!;
    }

    private async Task<List<JsonElement>> SealsAsync(string site)
    {
        using var auditor = app.WithKey(StatsApp.AuditorKey);
        var text = await auditor.GetStringAsync($"/api/v1/sites/{site}/events");
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .Where(r => r.GetProperty("kind").GetString() == "daySealed").ToList();
    }

}
