using System.Text;

namespace CCHC.Stats.IntegrationTests;

public sealed class BaselineTests(StatsApp app)
{
    private static readonly TimeSpan Hanoi = TimeSpan.FromHours(7);

    [Fact]
    public async Task a_baseline_carries_the_legacy_totals_over_from_its_moment_on()
    {
        var site = await app.NewSiteAsync();
        var asOf = new DateTimeOffset(2026, 11, 10, 10, 0, 0, Hanoi);
        using var admin = app.WithKey(StatsApp.AdminKey);
        var figures = new BaselineFigures(895, 6424, 12331, 663724, 10191468);

        var response = await admin.PostAsJsonAsync($"/api/v1/sites/{site}/baseline", new BaselineRequest(asOf, figures, figures));
        using var ingest = app.WithKey(StatsApp.IngestKey);
        await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/views:batch",
            new[] { new BatchViewItem("https://portal.test/", null, null, asOf.AddHours(1), "v", null) });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sameDay = await app.CountersAsync(site, asOf.AddHours(2));
        Assert.Equal(new PeriodFigures("2026-11-10", 896, 896, 1), sameDay.Day);
        Assert.Equal(new PeriodFigures("2026-W46", 6425, 6425), sameDay.Week);
        Assert.Equal(new PeriodFigures("2026-11", 12332, 12332), sameDay.Month);
        Assert.Equal(new PeriodFigures("2026", 663725, 663725), sameDay.Year);
        Assert.Equal(new PeriodFigures("all", 10191469, 10191469), sameDay.Total);

        var before = await app.CountersAsync(site, asOf.AddMinutes(-1));
        Assert.Equal(0, before.Total.PageViews);

        var nextWeek = await app.CountersAsync(site, asOf.AddDays(7));
        Assert.Equal(0, nextWeek.Day.PageViews);
        Assert.Equal(0, nextWeek.Week.PageViews);
        Assert.Equal(12332, nextWeek.Month.PageViews);
        Assert.Equal(10191469, nextWeek.Total.Visits);

        // The projection agrees with the exact read for the baseline's day.
        await app.CatchUpAsync();
        Assert.Equal(sameDay.Total.PageViews, (await app.CountersAsync(site)).Total.PageViews);
    }

    public static TheoryData<string> Inconsistent => new()
    {
        """{"asOf":"2026-11-10T10:00:00+07:00","pageViews":{"day":10,"week":5,"month":20,"year":30,"total":40},"visits":{"day":1,"week":1,"month":1,"year":1,"total":1}}""",
        """{"asOf":"2026-11-10T10:00:00+07:00","pageViews":{"day":1,"week":5,"month":20,"year":10,"total":40},"visits":{"day":1,"week":1,"month":1,"year":1,"total":1}}""",
        """{"asOf":"2026-11-10T10:00:00+07:00","pageViews":{"day":1,"week":5,"month":20,"year":30,"total":25},"visits":{"day":1,"week":1,"month":1,"year":1,"total":1}}""",
        """{"asOf":"2026-11-10T10:00:00+07:00","pageViews":{"day":1,"week":5,"month":20,"year":30,"total":40},"visits":{"day":2,"week":5,"month":20,"year":30,"total":40}}""",
        """{"asOf":"2026-11-10T10:00:00+07:00","pageViews":{"day":-1,"week":5,"month":20,"year":30,"total":40},"visits":{"day":0,"week":0,"month":0,"year":0,"total":0}}""",
        """{"pageViews":{"day":1,"week":5,"month":20,"year":30,"total":40},"visits":{"day":1,"week":1,"month":1,"year":1,"total":1}}""",
        """{"asOf":"2099-01-01T00:00:00Z","pageViews":{"day":1,"week":5,"month":20,"year":30,"total":40},"visits":{"day":1,"week":1,"month":1,"year":1,"total":1}}""",
        """{"asOf":"2026-11-10T10:00:00+07:00","visits":{"day":1,"week":1,"month":1,"year":1,"total":1}}""",
    };

    [Theory]
    [MemberData(nameof(Inconsistent))]
    public async Task an_inconsistent_baseline_is_400_and_changes_nothing(string body)
    {
        var site = await app.NewSiteAsync();
        using var admin = app.WithKey(StatsApp.AdminKey);

        var response = await admin.PostAsync($"/api/v1/sites/{site}/baseline", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, (await app.CountersAsync(site, new DateTimeOffset(2026, 11, 10, 12, 0, 0, Hanoi))).Total.PageViews);
    }

    [Fact]
    public async Task only_the_admin_key_records_a_baseline()
    {
        var site = await app.NewSiteAsync();
        using var ingest = app.WithKey(StatsApp.IngestKey);
        var figures = new BaselineFigures(1, 1, 1, 1, 1);

        var response = await ingest.PostAsJsonAsync($"/api/v1/sites/{site}/baseline", new BaselineRequest(DateTimeOffset.UtcNow, figures, figures));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }
}
