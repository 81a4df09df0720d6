using CCHC.Stats.Api.Ingestion;
using System.Collections.Concurrent;
using System.Diagnostics;

namespace CCHC.Stats.IntegrationTests;

/// <summary>
/// Three service processes on one PostgreSQL (and, in the second run, one RabbitMQ): views spread over all three,
/// the node running the projection is SIGKILLed mid-load and started again (and the broker restarted): every view
/// acknowledged with a 202 is stored once and counted once, on every node, and the projection moved.
/// </summary>
[Collection(RabbitBroker.Collection)]
public sealed class ScaleOutTests(StatsApp app)
{
    private const int Nodes = 3;

    [Theory]
    [InlineData("local")]
    [InlineData("rabbitmq")]
    public async Task three_nodes_count_every_acknowledged_view_once_when_the_projection_node_is_killed(string transport)
    {
        var connection = await app.Database.CreateDatabaseAsync($"scale_{transport}");
        string? virtualHost = null;
        var settings = new Dictionary<string, string> { ["Stats__Transport"] = transport, ["Stats__SealDays"] = "false" };
        if (transport == "rabbitmq")
        {
            virtualHost = $"scale-{Guid.NewGuid():N}"[..14];
            settings["ConnectionStrings__RabbitMq"] = await RabbitBroker.VirtualHostAsync(virtualHost);
        }

        // Started together on a new database, as three replicas would be.
        var ports = Enumerable.Range(0, Nodes).Select(_ => ServiceProcess.FreePort()).ToArray();
        var nodes = await Task.WhenAll(ports.Select(port => ServiceProcess.StartAsync(connection, port, settings)));
        try
        {
            var site = $"scale-{Guid.NewGuid():N}"[..16];
            await nodes[0].AddSiteAsync(site, "portal.test");
            var leader = await ProjectionNodeAsync(nodes, because: "one node should run the projection");

            var acknowledged = new ConcurrentDictionary<string, int>();
            var answers = new ConcurrentDictionary<string, int>(); // "node 1: 503" → how many, since the last Clear
            var sent = 0;
            using var load = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            var clients = nodes.Select(n => n.Client(timeout: TimeSpan.FromSeconds(15))).ToArray();
            var workers = Enumerable.Range(0, 48).Select(async worker =>
            {
                while (!load.IsCancellationRequested)
                {
                    var n = Interlocked.Increment(ref sent);
                    var node = (n + worker) % Nodes;
                    var url = $"https://portal.test/s/{n}";
                    try
                    {
                        var response = await clients[node].PostAsJsonAsync($"/api/v1/sites/{site}/views", new PageViewRequest(url), load.Token);
                        answers.AddOrUpdate($"node {node}: {(int)response.StatusCode}", 1, (_, n) => n + 1);
                        if (response.StatusCode == HttpStatusCode.Accepted)
                        {
                            acknowledged[url] = node;
                        }
                        else
                        {
                            await Eventually.BackOff(load.Token);
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
                    {
                        // That node is down (or restarting): nothing was acknowledged for this view.
                        answers.AddOrUpdate($"node {node}: {e.GetType().Name}", 1, (_, n) => n + 1);
                        await Eventually.BackOff(load.Token);
                    }
                }
            }).ToList();

            await Eventually.Until(() => acknowledged.Count >= 1500, TimeSpan.FromSeconds(45), "views should be acknowledged before the kill");
            await nodes[leader].DisposeAsync(); // SIGKILL
            var atKill = acknowledged.Count;

            var survivors = nodes.Where((_, i) => i != leader).ToArray();
            var clock = Stopwatch.StartNew();
            await ProjectionNodeAsync(survivors, because: "another node should take the projection over");
            var movedAfter = clock.Elapsed;
            TestContext.Current.TestOutputHelper?.WriteLine($"{transport}: the projection moved {movedAfter.TotalSeconds:F1} s after the kill");

            if (virtualHost is not null)
            {
                await Eventually.Until(() => acknowledged.Count >= atKill + 1000, TimeSpan.FromSeconds(45), "views should be acknowledged after the kill");
                await RabbitBroker.RestartAsync();
            }

            nodes[leader] = await ServiceProcess.StartAsync(connection, ports[leader], settings);
            var afterRestart = acknowledged.Count;
            answers.Clear();
            // The workers still write to answers while the message is made: it reads a snapshot (a ConcurrentDictionary
            // ordered as it grows threw, hiding the failure it was to describe).
            await Eventually.Until(() => Task.FromResult(acknowledged.Count >= afterRestart + 1000), TimeSpan.FromSeconds(45), () =>
                $"views should be acknowledged after the restarts: {acknowledged.Count - afterRestart} were; the answers since " +
                $"({string.Join(", ", answers.ToArray().OrderBy(a => a.Key).Select(a => $"{a.Key} ×{a.Value}"))}); what each node wrote last:\n" +
                string.Join("\n", nodes.Select((n, i) => $"node {i}:\n{n.Output[^Math.Min(n.Output.Length, 3000)..]}")));
            await load.CancelAsync();
            await Task.WhenAll(workers);

            // Every acknowledged view is in the event store once (over RabbitMQ, once the queue has been consumed).
            if (virtualHost is not null)
            {
                await Eventually.Until(async () => await RabbitBroker.MessagesAsync(virtualHost, ViewTransport.QueueName) == 0,
                    TimeSpan.FromSeconds(60), "the nodes should consume the broker's queue");

                // Every node consumes again after the broker's restart (Stats__ConcurrentCommits consumers each).
                var consumersPerNode = new CCHC.Stats.Api.Hosting.StatsOptions().ConcurrentCommits;
                await Eventually.Until(async () => await RabbitBroker.ConsumersAsync(virtualHost, ViewTransport.QueueName) == Nodes * consumersPerNode,
                    TimeSpan.FromSeconds(30), "every node should consume the queue again");
            }

            // Requests cut off when the load stopped were not acknowledged, but their views may still be committing
            // (the service finishes a group it has taken): let the store settle before counting it.
            await Eventually.Settled(async () => (await EventRows.UrlsOfSiteAsync(connection, site)).Count);

            Dictionary<string, int> stored = [];
            await Eventually.Until(async () =>
            {
                stored = (await EventRows.UrlsOfSiteAsync(connection, site)).GroupBy(u => u).ToDictionary(g => g.Key, g => g.Count());
                return acknowledged.Keys.All(stored.ContainsKey);
            }, TimeSpan.FromSeconds(60), "every acknowledged view should reach the event store");
            Assert.All(acknowledged.Keys, url => Assert.Equal(1, stored[url]));
            Assert.All(stored, pair => Assert.Equal(1, pair.Value));
            Assert.All(Enumerable.Range(0, Nodes), node => Assert.Contains(node, acknowledged.Values));

            // Every node serves the same count from its own memory, and as of now; one node runs the projection.
            var total = stored.Count;
            foreach (var node in nodes)
            {
                using var reader = node.Client();
                long counted = 0;
                await Eventually.Until(async () => (counted = (await reader.GetFromJsonAsync<CountersResponse>($"/api/v1/sites/{site}/counters"))!.Total.PageViews) == total,
                    TimeSpan.FromSeconds(60), () => $"{node.Address} counts {counted} of the {total} views stored");
                var asOf = await reader.GetFromJsonAsync<CountersResponse>(
                    $"/api/v1/sites/{site}/counters?asOf={Uri.EscapeDataString(DateTimeOffset.UtcNow.ToString("O"))}");
                Assert.Equal(total, asOf!.Total.PageViews);
            }

            // A rebuild asked of a node that does not run the projection runs where it does, once: same figures.
            var projectionNode = await ProjectionNodeAsync(nodes, because: "exactly one node should run the projection after the restart");
            using var admin = nodes[(projectionNode + 1) % Nodes].Client(StatsApp.AdminKey);
            Assert.Contains("projection on another node", await admin.GetStringAsync("/dashboard?lang=en"));
            Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsync("/api/v1/admin/rebuild", null)).StatusCode);
            await Eventually.Until(async () => (await admin.GetFromJsonAsync<RebuildProgress>("/api/v1/admin/rebuild"))!.State == "completed",
                TimeSpan.FromSeconds(60), "the rebuild should complete");
            foreach (var node in nodes)
            {
                using var reader = node.Client();
                await Eventually.Until(async () =>
                        (await reader.GetFromJsonAsync<CountersResponse>($"/api/v1/sites/{site}/counters"))!.Total.PageViews == total,
                    TimeSpan.FromSeconds(30), $"{node.Address} should count {total} views after the rebuild");
            }

            Assert.True(acknowledged.Count > atKill, "views should be acknowledged while a node was down");
            Assert.True(movedAfter < TimeSpan.FromSeconds(15), $"the projection moved after {movedAfter.TotalSeconds:F1} s");
        }
        finally
        {
            await Task.WhenAll(nodes.Select(n => n.DisposeAsync().AsTask()));
        }
    }

    /// <summary>Waits until exactly one of <paramref name="nodes"/> reports running the projection; answers its index.</summary>
    private static async Task<int> ProjectionNodeAsync(IReadOnlyList<ServiceProcess> nodes, string because)
    {
        var running = new List<int>();
        await Eventually.Until(async () =>
        {
            running.Clear();
            for (var i = 0; i < nodes.Count; i++)
            {
                using var client = nodes[i].Client(timeout: TimeSpan.FromSeconds(5));
                if ((await client.GetStringAsync("/metrics")).Contains("cchc_projection_active{otel_scope_name=\"CCHC.Stats\"} 1"))
                {
                    running.Add(i);
                }
            }

            return running.Count == 1;
        }, TimeSpan.FromSeconds(30), because);
        return running[0];
    }

    private sealed record RebuildProgress(string State);
}
