using System.Collections.Concurrent;

namespace CCHC.Stats.IntegrationTests;

/// <summary>A 202 means durable: views acknowledged before a SIGKILL are all in the event store, each once.</summary>
public sealed class DurabilityTests(StatsApp app)
{
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
