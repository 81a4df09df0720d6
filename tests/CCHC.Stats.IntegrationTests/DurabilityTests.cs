using System.Collections.Concurrent;
using Npgsql;

namespace CCHC.Stats.IntegrationTests;

/// <summary>
/// A 202 means durable: views acknowledged before a SIGKILL are all in the event store, each once. A 503 means not stored: a
/// commit held up past its senders' deadline rolls back.
/// </summary>
public sealed class DurabilityTests(StatsApp app)
{
    /// <summary>
    /// A 503 means not counted, even when the database is slow rather than gone: a commit still held up when its senders
    /// stop waiting is cancelled and rolls back. Left to finish, it would store views whose senders were told to send them
    /// again, and each would be counted twice.
    /// </summary>
    [Fact]
    public async Task a_commit_held_up_past_its_senders_deadline_is_rolled_back_so_their_503_means_not_counted()
    {
        var connection = await app.Database.CreateDatabaseAsync("held");
        var deadline = TimeSpan.FromSeconds(2);
        await using var host = app.Create(connection, new Dictionary<string, string?> { ["Stats:DurableWriteTimeout"] = deadline.ToString() });
        using var admin = StatsApp.ClientOf(host, StatsApp.AdminKey);
        (await admin.PutAsJsonAsync("/api/v1/sites/held", new SiteRequest("held", null, ["portal.test"], null))).EnsureSuccessStatusCode();
        using var browser = StatsApp.ClientOf(host, null);
        Assert.Equal(HttpStatusCode.Accepted, (await PostHeldViewAsync(browser, "before")).StatusCode);

        // Another session holds the event table: appends wait for it (reads, such as the projection's, do not).
        await using var holder = new NpgsqlConnection(connection);
        await holder.OpenAsync();
        await using (var transaction = await holder.BeginTransactionAsync())
        {
            await using (var hold = new NpgsqlCommand("LOCK TABLE mt_events IN EXCLUSIVE MODE", holder, transaction))
            {
                await hold.ExecuteNonQueryAsync();
            }

            var refused = await PostHeldViewAsync(browser, "held-up");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero);

            // The held-up append has given up its wait, while the lock still stands.
            await Eventually.Until(async () => await WaitingForEventTableAsync(holder, transaction) == 0, deadline * 5,
                "the append held up past its senders' deadline should have been cancelled, not left waiting for the lock");
            await transaction.RollbackAsync();
        }

        Assert.Equal(HttpStatusCode.Accepted, (await PostHeldViewAsync(browser, "after")).StatusCode);
        Assert.Equal(["https://portal.test/before", "https://portal.test/after"], await EventRows.UrlsOfSiteAsync(connection, "held"));
    }

    private static Task<HttpResponseMessage> PostHeldViewAsync(HttpClient client, string page) =>
        client.PostAsJsonAsync("/api/v1/sites/held/views", new PageViewRequest($"https://portal.test/{page}"));

    private static async Task<long> WaitingForEventTableAsync(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        await using var waiting = new NpgsqlCommand("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'mt_events'::regclass", connection, transaction);
        return (long)(await waiting.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task every_view_acknowledged_before_a_kill_is_stored_exactly_once_and_counted()
    {
        var connection = await app.Database.CreateDatabaseAsync("kill");
        var port = ServiceProcess.FreePort();
        var first = await ServiceProcess.StartAsync(connection, port);
        var site = $"kill-{Guid.NewGuid():N}"[..16];
        await first.AddSiteAsync(site, "portal.test");

        var acknowledged = new ConcurrentBag<string>();
        var sent = 0;
        using var load = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var browser = first.Client();
        var workers = Enumerable.Range(0, 32).Select(async _ =>
        {
            while (!load.IsCancellationRequested)
            {
                var url = $"https://portal.test/k/{Interlocked.Increment(ref sent)}";
                try
                {
                    var response = await browser.PostAsJsonAsync($"/api/v1/sites/{site}/views", new PageViewRequest(url), load.Token);
                    if (response.StatusCode == HttpStatusCode.Accepted)
                    {
                        acknowledged.Add(url);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
                {
                    // The process is gone: nothing was acknowledged for this view.
                    await Eventually.BackOff(load.Token);
                }
            }
        }).ToList();

        await Eventually.Until(() => acknowledged.Count >= 1500, TimeSpan.FromSeconds(45), "views should be acknowledged before the kill");

        await first.KillAsync();
        var acknowledgedAtKill = acknowledged.ToHashSet();
        await load.CancelAsync();
        await Task.WhenAll(workers);
        var acknowledgedInAll = acknowledged.ToHashSet();

        await using var second = await ServiceProcess.StartAsync(connection, port);
        var stored = await EventRows.UrlsOfSiteAsync(connection, site);
        var storedOnce = stored.GroupBy(u => u).ToDictionary(g => g.Key, g => g.Count());

        Assert.True(acknowledgedAtKill.Count >= 500, $"only {acknowledgedAtKill.Count} views were acknowledged before the kill");
        Assert.All(acknowledgedInAll, url => Assert.True(storedOnce.GetValueOrDefault(url) == 1, $"{url} stored {storedOnce.GetValueOrDefault(url)} times"));
        Assert.Equal(stored.Count, storedOnce.Count);

        // The restarted node's projection counts exactly what the store holds: nothing lost, nothing twice.
        var counters = await second.ReadWithinAsync<CountersResponse>(
            $"/api/v1/sites/{site}/counters?asOf={Uri.EscapeDataString(DateTimeOffset.UtcNow.ToString("O"))}", connection);
        Assert.Equal(stored.Count, counters!.Total.PageViews);
        Assert.Equal(stored.Count, counters.Day.PageViews);
    }
}
