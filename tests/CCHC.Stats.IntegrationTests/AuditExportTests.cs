using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace CCHC.Stats.IntegrationTests;

public sealed class AuditExportTests(StatsApp app)
{
    private static readonly TimeSpan Hanoi = TimeSpan.FromHours(7);
    private static readonly DateTimeOffset Day = new(2026, 10, 14, 0, 0, 0, Hanoi);

    private async Task<string> SiteWithHistoryAsync()
    {
        var site = await app.NewSiteAsync();
        using var ingest = app.WithKey(StatsApp.IngestKey);
        var random = new Random(3);
        var items = Enumerable.Range(0, 300)
            .Select(i => new BatchViewItem($"https://portal.test/p{i % 7}", i % 5 == 0 ? "https://www.google.com/" : null,
                i == 7 ? "=HYPERLINK(\"http://evil.example\")" : null,
                Day.AddMinutes(random.Next(0, 3 * 24 * 60)), $"v{random.Next(12)}", null))
            .OrderBy(_ => random.Next())
            .ToList();
        (await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch", items)).EnsureSuccessStatusCode();
        using var admin = app.WithKey(StatsApp.AdminKey);
        var figures = new BaselineFigures(10, 20, 30, 40, 50);
        (await admin.PostAsJsonAsync($"/api/v1/sites/{site}/baseline", new BaselineRequest(Day.AddHours(12), figures, figures))).EnsureSuccessStatusCode();
        return site;
    }

    private async Task<List<JsonElement>> ExportAsync(string site, string query = "")
    {
        using var auditor = app.WithKey(StatsApp.AuditorKey);
        var response = await auditor.GetAsync($"/api/v1/sites/{site}/events{query}");
        response.EnsureSuccessStatusCode();
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        // Day seals join the history once a day is over (the sealer runs every minute): only views and baselines here.
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .Where(r => r.GetProperty("kind").GetString() != "daySealed").ToList();
    }

    [Fact]
    public async Task the_history_comes_in_sequence_order_with_every_field_of_the_contract()
    {
        var site = await SiteWithHistoryAsync();

        var rows = await ExportAsync(site);

        Assert.Equal(301, rows.Count);
        var sequences = rows.Select(r => r.GetProperty("sequence").GetInt64()).ToList();
        Assert.Equal(sequences.Order(), sequences);
        var view = rows.First(r => r.GetProperty("kind").GetString() == "pageView");
        Assert.StartsWith("https://portal.test/p", view.GetProperty("url").GetString());
        Assert.EndsWith("+07:00", view.GetProperty("occurredAt").GetString());
        Assert.Equal(JsonValueKind.String, view.GetProperty("visitorHash").ValueKind);
        Assert.True(view.GetProperty("startedVisit").ValueKind is JsonValueKind.True or JsonValueKind.False);
        var baseline = Assert.Single(rows, r => r.GetProperty("kind").GetString() == "baseline");
        Assert.Equal(JsonValueKind.Null, baseline.GetProperty("url").ValueKind);
        Assert.Equal(JsonValueKind.Null, baseline.GetProperty("startedVisit").ValueKind);
        Assert.Equal(50, baseline.GetProperty("details").GetProperty("pageViews").GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task counters_as_of_any_moment_follow_from_the_exported_history()
    {
        var site = await SiteWithHistoryAsync();
        var rows = await ExportAsync(site);

        foreach (var moment in new[] { Day.AddHours(9), Day.AddHours(36).AddMinutes(17), Day.AddDays(2).AddHours(23) })
        {
            var day = moment.ToOffset(Hanoi).ToString("yyyy-MM-dd");
            var views = rows.Where(r => r.GetProperty("kind").GetString() == "pageView"
                    && r.GetProperty("day").GetString() == day
                    && DateTimeOffset.Parse(r.GetProperty("occurredAt").GetString()!) <= moment)
                .ToList();
            var baselineDay = rows.Where(r => r.GetProperty("kind").GetString() == "baseline"
                    && DateTimeOffset.Parse(r.GetProperty("occurredAt").GetString()!) <= moment && r.GetProperty("day").GetString() == day)
                .Sum(r => r.GetProperty("details").GetProperty("pageViews").GetProperty("day").GetInt64());

            var counters = await app.CountersAsync(site, moment);

            Assert.Equal(views.Count + baselineDay, counters.Day.PageViews);
            Assert.Equal(views.Count(v => v.GetProperty("startedVisit").GetBoolean()) + baselineDay, counters.Day.Visits);
            Assert.Equal(views.Select(v => v.GetProperty("visitorHash").GetString()).Distinct().Count(), counters.Day.Visitors);
        }
    }

    [Fact]
    public async Task a_range_selects_by_occurred_at_and_csv_is_safe_for_spreadsheets()
    {
        var site = await SiteWithHistoryAsync();
        var from = Day.AddDays(1);
        var to = Day.AddDays(2);

        var ranged = await ExportAsync(site, $"?from={Uri.EscapeDataString(from.ToString("O"))}&to={Uri.EscapeDataString(to.ToString("O"))}");
        using var auditor = app.WithKey(StatsApp.AuditorKey);
        var csv = await auditor.GetStringAsync($"/api/v1/sites/{site}/events?format=csv");

        Assert.NotEmpty(ranged);
        Assert.All(ranged, r => Assert.InRange(DateTimeOffset.Parse(r.GetProperty("occurredAt").GetString()!), from, to.AddTicks(-1)));
        var all = await ExportAsync(site);
        Assert.Equal(all.Count(r => DateTimeOffset.Parse(r.GetProperty("occurredAt").GetString()!) is var t && t >= from && t < to), ranged.Count);
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.Contains(",daySealed,")).ToArray();
        Assert.Equal("sequence,occurredAt,kind,url,referrer,title,visitorHash,startedVisit,day,details", lines[0]);
        Assert.Equal(302, lines.Length);
        Assert.Contains(lines, l => l.Contains("\"'=HYPERLINK(\"\"http://evil.example\"\")\""));
        Assert.DoesNotContain(lines, l => l.Contains(",=HYPERLINK"));
    }

    [Fact]
    public async Task the_export_needs_the_auditor_key()
    {
        var site = await app.NewSiteAsync();
        using var admin = app.WithKey(StatsApp.AdminKey);
        using var auditor = app.WithKey(StatsApp.AuditorKey);

        Assert.Equal(HttpStatusCode.Forbidden, (await admin.GetAsync($"/api/v1/sites/{site}/events")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await auditor.GetAsync($"/api/v1/sites/{site}/events?from=yesterday")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await auditor.GetAsync($"/api/v1/sites/{site}/events?format=xml")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await auditor.GetAsync("/api/v1/sites/nobody/events")).StatusCode);
    }

    [Fact]
    public async Task the_ndjson_export_writes_offsets_and_vietnamese_as_they_are()
    {
        var site = await app.NewSiteAsync();
        using var ingest = app.WithKey(StatsApp.IngestKey);
        (await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch",
            new[] { new BatchViewItem("https://portal.test/tin-tuc", null, "Bắc Giang <b> & \"trích dẫn\"", Day.AddHours(9), "v", null) })).EnsureSuccessStatusCode();
        using var auditor = app.WithKey(StatsApp.AuditorKey);

        var text = await auditor.GetStringAsync($"/api/v1/sites/{site}/events");

        Assert.Contains("+07:00", text);
        Assert.DoesNotContain("\\u002B", text);
        Assert.Contains("Bắc Giang <b> & \\\"trích dẫn\\\"", text);
        Assert.Equal("Bắc Giang <b> & \"trích dẫn\"", JsonDocument.Parse(text.Trim()).RootElement.GetProperty("title").GetString());
    }

    [Fact]
    public async Task a_months_export_holds_the_seals_of_its_days_with_the_baselines_they_counted()
    {
        var site = await app.NewSiteAsync();
        var october = new DateTimeOffset(2026, 10, 1, 0, 0, 0, Hanoi);
        using var ingest = app.WithKey(StatsApp.IngestKey);
        (await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch", new[]
        {
            new BatchViewItem("https://portal.test/a", null, null, october.AddDays(4).AddHours(9), "v1", null),
            new BatchViewItem("https://portal.test/b", null, null, october.AddDays(30).AddHours(23), "v2", null),
            new BatchViewItem("https://portal.test/c", null, null, october.AddDays(31).AddHours(1), "v3", null),
        })).EnsureSuccessStatusCode();
        using var admin = app.WithKey(StatsApp.AdminKey);
        var figures = new BaselineFigures(7, 70, 700, 7000, 70000);
        (await admin.PostAsJsonAsync($"/api/v1/sites/{site}/baseline", new BaselineRequest(october.AddDays(4).AddHours(8), figures, figures))).EnsureSuccessStatusCode();
        var sealer = app.Services.GetRequiredService<CCHC.Stats.Api.Audit.DaySealer>();
        await app.CatchUpAsync();
        await Eventually.Until(async () =>
        {
            await sealer.SealAsync(CancellationToken.None);
            return (await AllRowsAsync(site, "")).Count(r => r.GetProperty("kind").GetString() == "daySealed") == 3;
        });

        var month = await AllRowsAsync(site, $"?from={Uri.EscapeDataString(october.ToString("O"))}&to={Uri.EscapeDataString(october.AddMonths(1).ToString("O"))}");

        var seals = month.Where(r => r.GetProperty("kind").GetString() == "daySealed").Select(r => r.GetProperty("details")).ToList();
        Assert.Equal(["2026-10-05", "2026-10-31"], seals.Select(s => s.GetProperty("day").GetString()));
        Assert.Equal(7, seals[0].GetProperty("baselinePageViews").GetInt64());
        Assert.Equal(1, seals[0].GetProperty("pageViews").GetInt64());
        Assert.Equal(0, seals[1].GetProperty("baselinePageViews").GetInt64());
        Assert.Equal(2, month.Count(r => r.GetProperty("kind").GetString() == "pageView"));
    }

    private async Task<List<JsonElement>> AllRowsAsync(string site, string query)
    {
        using var auditor = app.WithKey(StatsApp.AuditorKey);
        var text = await auditor.GetStringAsync($"/api/v1/sites/{site}/events{query}");
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }
}
