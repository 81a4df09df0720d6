using System.Diagnostics;
using CCHC.Stats.Api.Ingestion;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Wolverine;

namespace CCHC.Stats.IntegrationTests;

/// <summary><c>Stats__Transport</c>: the rabbitmq wiring delivers each group once, and a bad setting stops the start.</summary>
[Collection(RabbitBroker.Collection)]
public sealed class TransportTests(StatsApp app)
{
    [Fact]
    public async Task a_group_the_broker_delivers_twice_is_stored_once_and_not_dead_lettered()
    {
        var connection = await app.Database.CreateDatabaseAsync("redelivery");
        var virtualHost = $"redelivery-{Guid.NewGuid():N}"[..19];
        await using var host = app.Create(connection, new Dictionary<string, string?>
        {
            ["Stats:Transport"] = "rabbitmq",
            ["ConnectionStrings:RabbitMq"] = await RabbitBroker.VirtualHostAsync(virtualHost),
        });
        using var admin = StatsApp.ClientOf(host, StatsApp.AdminKey);
        (await admin.PutAsJsonAsync("/api/v1/sites/twice", new SiteRequest("twice", null, ["portal.test"], null))).EnsureSuccessStatusCode();

        // What a broker redelivery (or a publisher's retry) amounts to: the same group, published twice.
        var now = DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(7));
        var group = RecordPageViews.Of([new PageViewed("twice", now, "visitor", "https://portal.test/twice", null, null)]);
        await using (var scope = host.Services.CreateAsyncScope())
        {
            var bus = scope.ServiceProvider.GetRequiredService<IMessageBus>();
            await bus.PublishAsync(group);
            await bus.PublishAsync(group);
        }

        await Eventually.Until(async () => await RabbitBroker.MessagesAsync(virtualHost, ViewTransport.QueueName) == 0
            && (await EventRows.UrlsOfSiteAsync(connection, "twice")).Count > 0, TimeSpan.FromSeconds(30), "both deliveries should be consumed");

        // The listener processes inline and acknowledges after its handler: an empty queue means both were handled.

        Assert.Equal(["https://portal.test/twice"], await EventRows.UrlsOfSiteAsync(connection, "twice"));
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var deadLetters = new NpgsqlCommand("SELECT count(*) FROM wolverine_dead_letters", db);
        Assert.Equal(0L, (long)(await deadLetters.ExecuteScalarAsync())!);
    }

    /// <summary>
    /// A broker that takes no more messages (its memory alarm: it reads and confirms nothing) must not hold a committer
    /// past the deadline its senders wait for: the publish fails then (senders get 503), and once the broker takes
    /// messages again so does the node, with no restart.
    /// </summary>
    [Fact]
    public async Task a_publish_the_broker_never_confirms_fails_at_the_senders_deadline_and_views_are_taken_again_after()
    {
        var connection = await app.Database.CreateDatabaseAsync("blocked");
        var deadline = TimeSpan.FromSeconds(2);
        await using var host = app.Create(connection, new Dictionary<string, string?>
        {
            ["Stats:Transport"] = "rabbitmq",
            ["ConnectionStrings:RabbitMq"] = await RabbitBroker.VirtualHostAsync($"blocked-{Guid.NewGuid():N}"[..16]),
            ["Stats:DurableWriteTimeout"] = deadline.ToString(),
        });
        using var admin = StatsApp.ClientOf(host, StatsApp.AdminKey);
        (await admin.PutAsJsonAsync("/api/v1/sites/blocked", new SiteRequest("blocked", null, ["portal.test"], null))).EnsureSuccessStatusCode();
        using var browser = StatsApp.ClientOf(host, null);
        Assert.Equal(HttpStatusCode.Accepted, (await PostViewAsync(browser, "before")).StatusCode);

        await RabbitBroker.BlockPublishersAsync();
        try
        {
            var now = DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(7));
            var group = RecordPageViews.Of([new PageViewed("blocked", now, "visitor", "https://portal.test/unconfirmed", null, null)]);
            await using var scope = host.Services.CreateAsyncScope();
            var clock = Stopwatch.StartNew();
            var delivery = host.Services.GetRequiredService<ViewTransport>().DeliverAsync(scope.ServiceProvider.GetRequiredService<IMessageBus>(), group, CancellationToken.None);

            // Unbounded, the publish would wait for the confirm as long as the alarm lasts: here, past the test's patience.
            Assert.True(await Task.WhenAny(delivery, Task.Delay(deadline * 5)) == delivery,
                $"the publish still waited for the broker's confirm after {clock.Elapsed.TotalSeconds:F1} s");
            await Assert.ThrowsAsync<TimeoutException>(() => delivery);
            Assert.True(clock.Elapsed < deadline * 3, $"the publish failed after {clock.Elapsed.TotalSeconds:F1} s");

            var refused = await PostViewAsync(browser, "during");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        }
        finally
        {
            await RabbitBroker.UnblockPublishersAsync();
        }

        await Eventually.Until(async () => (await PostViewAsync(browser, "after")).StatusCode == HttpStatusCode.Accepted,
            TimeSpan.FromSeconds(30), "views should be taken again once the broker takes messages");
        await Eventually.Until(async () => (await EventRows.UrlsOfSiteAsync(connection, "blocked")).Contains("https://portal.test/after"),
            TimeSpan.FromSeconds(30), "the view taken after the alarm should be stored");
    }

    private static Task<HttpResponseMessage> PostViewAsync(HttpClient client, string page) =>
        client.PostAsJsonAsync("/api/v1/sites/blocked/views", new PageViewRequest($"https://portal.test/{page}"));

    [Theory]
    [InlineData("kafka", null, "Stats__Transport must be 'local' or 'rabbitmq', not 'kafka'")]
    [InlineData("rabbitmq", null, "Stats__Transport=rabbitmq needs ConnectionStrings__RabbitMq")]
    [InlineData("rabbitmq", "not an address", "Stats__Transport=rabbitmq needs ConnectionStrings__RabbitMq")]
    public async Task a_transport_setting_that_cannot_work_stops_the_start_with_a_clear_message(string transport, string? address, string message)
    {
        await using var host = app.Create(app.ConnectionString, new Dictionary<string, string?>
        {
            ["Stats:Transport"] = transport,
            ["ConnectionStrings:RabbitMq"] = address,
        });

        var failure = Assert.ThrowsAny<Exception>(() => host.Server);
        Assert.Contains(message, failure.ToString());
    }
}
