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
        var group = RecordPageViews.Of([new PageViewed("twice", now, DateOnly.FromDateTime(now.DateTime), "visitor", "https://portal.test/twice", null, null)]);
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
