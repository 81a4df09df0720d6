using System.Text;
using CCHC.Stats.Api.Ingestion;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Wolverine;

namespace CCHC.Stats.IntegrationTests;

public sealed class IngestionTests(StatsApp app)
{
    [Fact]
    public async Task a_posted_view_reaches_the_event_store_and_the_counters()
    {
        var site = await app.NewSiteAsync();
        using var browser = app.Browser();

        var response = await browser.PostAsJsonAsync($"/api/v1/sites/{site}/views",
            new PageViewRequest("https://portal.test/tin-tuc/abc", "https://www.google.com/", "Tin tức"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(["https://portal.test/tin-tuc/abc"], await EventRows.UrlsOfSiteAsync(app.ConnectionString, site));
        await app.CatchUpAsync();
        var counters = await app.CountersAsync(site);
        Assert.Equal(1, counters.Day.PageViews);
        Assert.Equal(1, counters.Day.Visits);
        Assert.Equal(1, counters.Day.Visitors);
        Assert.Equal(1, counters.Total.PageViews);
        Assert.Equal(1, counters.Online);
    }

    /// <summary>
    /// A view is one row of the event table, so its size is the store's size (the benchmark's bytes per view):
    /// no .NET type name beside the alias, no keys for absent fields, no day (the date of its local <c>occurredAt</c>).
    /// Both kinds of row read back as views.
    /// </summary>
    [Fact]
    public async Task a_view_is_stored_as_one_compact_row_and_reads_back()
    {
        var site = await app.NewSiteAsync();
        using var browser = app.Browser();
        (await browser.PostAsJsonAsync($"/api/v1/sites/{site}/views", new PageViewRequest("https://portal.test/a"))).EnsureSuccessStatusCode();
        (await browser.PostAsJsonAsync($"/api/v1/sites/{site}/views",
            new PageViewRequest("https://portal.test/b", "https://www.google.com/", "Tin tức"))).EnsureSuccessStatusCode();

        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT data ->> 'url', mt_dotnet_type, data ->> 'referrer', data ->> 'title', data ? 'referrer', data ? 'title', pg_column_size(e.*), data ? 'day'
            FROM mt_events e WHERE type = 'page_viewed' AND data ->> 'siteId' = @site ORDER BY data ->> 'url'
            """, connection);
        command.Parameters.AddWithValue("site", site);
        var rows = new List<(string Url, bool HasDotNetType, string? Referrer, string? Title, bool ReferrerKey, bool TitleKey, int Bytes, bool DayKey)>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                rows.Add((reader.GetString(0), !reader.IsDBNull(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetBoolean(4), reader.GetBoolean(5), reader.GetInt32(6), reader.GetBoolean(7)));
            }
        }

        Assert.Equal(2, rows.Count);
        var (plain, full) = (rows[0], rows[1]);
        Assert.Equal("https://portal.test/a", plain.Url);
        Assert.False(plain.HasDotNetType);
        Assert.False(plain.ReferrerKey);
        Assert.False(plain.TitleKey);
        Assert.False(plain.DayKey || full.DayKey, "a view's day is the date of its local occurredAt, not a field of its own");
        // 283 bytes measured, the time's fraction varying a few; with the day as a field of its own, about 21 more.
        Assert.True(plain.Bytes <= 290, $"a view without referrer or title takes {plain.Bytes} bytes in its row");
        Assert.False(full.HasDotNetType);
        Assert.Equal(("https://www.google.com/", "Tin tức"), (full.Referrer, full.Title));

        await app.CatchUpAsync();
        var counters = await app.CountersAsync(site);
        Assert.Equal(2, counters.Day.PageViews);
    }

    /// <summary>
    /// What a retried append amounts to (a commit whose answer was lost, retried; with rabbitmq, a redelivery): the
    /// same group delivered again, after the first and alongside it. Its views are stored once, and no sender is
    /// told it failed.
    /// </summary>
    [Fact]
    public async Task a_group_recorded_again_or_twice_at_once_is_stored_once()
    {
        var site = await app.NewSiteAsync();
        var now = DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(7));
        RecordPageViews Group(string path) => RecordPageViews.Of([
            new PageViewed(site, now, "visitor-a", $"https://portal.test/{path}/1", null, null),
            new PageViewed(site, now, "visitor-b", $"https://portal.test/{path}/2", null, null)]);
        var (again, atOnce) = (Group("again"), Group("at-once"));

        var transport = app.Services.GetRequiredService<ViewTransport>();
        async Task Deliver(RecordPageViews group)
        {
            await using var scope = app.Services.CreateAsyncScope();
            await transport.DeliverAsync(scope.ServiceProvider.GetRequiredService<IMessageBus>(), group, CancellationToken.None);
        }

        await Deliver(again);
        await Deliver(again);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Deliver(atOnce)));

        Assert.Equal(["https://portal.test/again/1", "https://portal.test/again/2", "https://portal.test/at-once/1", "https://portal.test/at-once/2"],
            (await EventRows.UrlsOfSiteAsync(app.ConnectionString, site)).Order().ToList());
        await app.CatchUpAsync();
        Assert.Equal(4, (await app.CountersAsync(site)).Day.PageViews);
    }

    /// <summary>
    /// The event row's own timestamp (the pipeline monitor's projection lag reads it) is the moment of the append,
    /// also where PostgreSQL's session time zone is not UTC (the Vietnamese servers' usual setting).
    /// </summary>
    [Fact]
    public async Task a_view_row_carries_the_moment_it_was_stored_whatever_the_database_time_zone()
    {
        var connection = await app.Database.CreateDatabaseAsync("zoned");
        await using (var db = new NpgsqlConnection(connection))
        {
            await db.OpenAsync();
            await using var zone = new NpgsqlCommand($"ALTER DATABASE \"{db.Database}\" SET timezone = 'Asia/Ho_Chi_Minh'", db);
            await zone.ExecuteNonQueryAsync();
        }

        await using var host = app.Create(connection, new Dictionary<string, string?>());
        using var admin = StatsApp.ClientOf(host, StatsApp.AdminKey);
        (await admin.PutAsJsonAsync("/api/v1/sites/zoned", new SiteRequest("zoned", null, ["portal.test"], null))).EnsureSuccessStatusCode();
        using var browser = StatsApp.ClientOf(host, null);
        var before = DateTimeOffset.UtcNow;
        (await browser.PostAsJsonAsync("/api/v1/sites/zoned/views", new PageViewRequest("https://portal.test/zoned"))).EnsureSuccessStatusCode();
        var after = DateTimeOffset.UtcNow;

        await using var read = new NpgsqlConnection(connection);
        await read.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT timestamp FROM mt_events WHERE type = 'page_viewed'", read);
        var stored = (DateTime)(await command.ExecuteScalarAsync())!;
        Assert.InRange(new DateTimeOffset(stored, TimeSpan.Zero), before.AddSeconds(-1), after.AddSeconds(1));
    }

    [Fact]
    public async Task a_beacon_sent_as_text_plain_is_accepted()
    {
        var site = await app.NewSiteAsync();
        using var browser = app.Browser();

        var response = await browser.PostAsync($"/api/v1/sites/{site}/views",
            new StringContent("""{"url":"https://www.portal.test/"}""", Encoding.UTF8, "text/plain"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Single(await EventRows.UrlsOfSiteAsync(app.ConnectionString, site));
    }

    [Theory]
    [InlineData("{\"url\":\"https://portal.test/a\"", 400)]
    [InlineData("""{"url":"ftp://portal.test/a"}""", 400)]
    [InlineData("""{"url":"/relative"}""", 400)]
    [InlineData("""{"referrer":"https://portal.test/"}""", 400)]
    [InlineData("""{"url":42}""", 400)]
    [InlineData("""{"url":"https://evil.example/a"}""", 403)]
    [InlineData("""{"url":"https://portal.test.evil.example/a"}""", 403)]
    public async Task bad_views_get_a_problem_and_change_nothing(string body, int status)
    {
        var site = await app.NewSiteAsync();
        using var browser = app.Browser();

        var response = await browser.PostAsync($"/api/v1/sites/{site}/views", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await EventRows.UrlsOfSiteAsync(app.ConnectionString, site));
    }

    [Fact]
    public async Task a_view_longer_than_2048_characters_is_refused()
    {
        var site = await app.NewSiteAsync();
        using var browser = app.Browser();

        var response = await browser.PostAsJsonAsync($"/api/v1/sites/{site}/views",
            new PageViewRequest("https://portal.test/" + new string('a', 2048)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task a_body_over_8_KiB_is_refused_with_413()
    {
        var site = await app.NewSiteAsync();
        using var browser = app.Browser();
        var body = $$"""{"url":"https://portal.test/","title":"{{new string('x', 9000)}}"}""";

        var response = await browser.PostAsync($"/api/v1/sites/{site}/views", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Empty(await EventRows.UrlsOfSiteAsync(app.ConnectionString, site));
    }

    [Fact]
    public async Task a_view_for_an_unknown_site_is_404()
    {
        using var browser = app.Browser();

        var response = await browser.PostAsJsonAsync("/api/v1/sites/no-such-site/views", new PageViewRequest("https://portal.test/"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task a_crawler_is_answered_202_and_not_counted()
    {
        var site = await app.NewSiteAsync();
        using var crawler = app.Browser();
        crawler.DefaultRequestHeaders.UserAgent.Clear();
        crawler.DefaultRequestHeaders.UserAgent.ParseAdd("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)");

        var response = await crawler.PostAsJsonAsync($"/api/v1/sites/{site}/views", new PageViewRequest("https://portal.test/"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Empty(await EventRows.UrlsOfSiteAsync(app.ConnectionString, site));
    }

    [Fact]
    public async Task any_origin_may_send_views_and_read_counters()
    {
        var site = await app.NewSiteAsync();
        using var browser = app.Browser();
        using var preflight = new HttpRequestMessage(HttpMethod.Options, $"/api/v1/sites/{site}/views");
        preflight.Headers.Add("Origin", "https://portal.test");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "content-type");

        var response = await browser.SendAsync(preflight);

        Assert.True(response.IsSuccessStatusCode);
        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        using var read = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/sites/{site}/counters");
        read.Headers.Add("Origin", "https://elsewhere.example");
        var counters = await browser.SendAsync(read);
        Assert.Equal("*", counters.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }
}
