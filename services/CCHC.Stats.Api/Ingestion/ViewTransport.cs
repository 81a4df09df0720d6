using CCHC.Stats.Api.Hosting;
using JasperFx.Events;
using Microsoft.Extensions.Options;
using Npgsql;
using Wolverine;
using Wolverine.ErrorHandling;
using Wolverine.Runtime;
using Wolverine.RabbitMQ;
using Wolverine.RabbitMQ.Internal;

namespace CCHC.Stats.Api.Ingestion;

/// <summary>
/// How accepted views travel from the node that accepted them to the event store: the one place where the two
/// transports (<c>Stats__Transport</c>) differ. Everything before (validation, visitor identity, grouping) and
/// after (<see cref="RecordPageViewsHandler"/>, the projection) is the same code.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>local</c> (default): the group is handed to the handler in-process (<see cref="IMessageBus.InvokeAsync(object, CancellationToken, TimeSpan?)"/>);
/// the sender's 202 follows the event store's commit. Nothing else to run.</item>
/// <item><c>rabbitmq</c>: the group is published to a quorum queue with publisher confirms, inline (the publish
/// returns once the broker has written it to disk); the 202 follows that confirm. Every node consumes the queue
/// and runs the same handler; a message is acknowledged to the broker only after its append has committed, so a
/// consumer killed mid-append leaves it for another. A redelivered group collides on its stream id and is
/// discarded (see <see cref="RecordPageViews.GroupId"/>).</item>
/// </list>
/// </remarks>
public sealed class ViewTransport(IOptions<StatsOptions> options)
{
    public const string Local = "local";
    public const string RabbitMq = "rabbitmq";

    /// <summary>The broker queue every node publishes accepted views to and consumes them from.</summary>
    public const string QueueName = "cchc-stats.views";

    /// <summary>Read once: the setting does not change while the service runs.</summary>
    private readonly bool _usesBroker = Parse(options.Value.Transport) == RabbitMq;

    /// <summary>How long a publish may wait for the broker's confirm: as long as its senders wait for their answer.</summary>
    private readonly TimeSpan _confirmTimeout = options.Value.DurableWriteTimeout;

    /// <summary>
    /// Makes <paramref name="group"/> durable: committed to the event store (<c>local</c>) or confirmed by the
    /// broker (<c>rabbitmq</c>). Throws if it could not be, or not within <see cref="StatsOptions.DurableWriteTimeout"/>;
    /// then its senders get 503.
    /// </summary>
    /// <param name="ct">Cancelled when the group's senders stop waiting (<see cref="ViewBatcher"/>). A commit in flight
    /// then is cancelled and rolls back; a published group cannot be taken back, so the broker may still take it.</param>
    public async Task DeliverAsync(IMessageBus bus, RecordPageViews group, CancellationToken ct)
    {
        if (_usesBroker)
        {
            // The publish awaits the broker's confirm, with no token to give up by (Wolverine's PublishAsync takes none).
            // RabbitMQ's client can leave that wait hanging for good when the broker restarts mid-publish, even once its
            // connection has recovered (rabbitmq/rabbitmq-dotnet-client#1930, open for 7.2.x): unbounded, two such
            // publishes would hold both committers, and the node would answer every later view 503 until restarted. Bounded,
            // the group fails (its senders, who stopped waiting at the same deadline, got 503) and its committer moves on.
            // From the batcher, ct (its senders' deadline) ends the wait first; the confirm timeout bounds any other caller.
            await bus.PublishAsync(group).AsTask().WaitAsync(_confirmTimeout, ct);
            return;
        }

        try
        {
            await bus.InvokeAsync(group, ct);
        }
        catch (EventStreamUnexpectedMaxEventIdException)
        {
            // The group's stream already holds its views: an attempt whose commit went through but whose answer was
            // lost (the connection dropped), retried by the database-fault policy (EventStore). Stored once; say so.
        }
    }

    /// <summary>The Wolverine wiring of the configured transport; an unknown name stops the service at start.</summary>
    public static void Configure(WolverineOptions opts, IConfiguration configuration)
    {
        // A redelivered group is already stored (its stream has its views): drop it, do not dead-letter it. At any
        // attempt: Wolverine's Discard() covers only the first, and a group retried after a collision (below) or a
        // database fault meets this on a later one.
        opts.OnException<EventStreamUnexpectedMaxEventIdException>().ContinueWith(new AlreadyStored());

        // Two deliveries of one group at once (a redelivery while the first consumer is still committing): the
        // second waits on the first's new stream row, then fails on its key. Tried again, it finds the group stored
        // (above) or, if the first rolled back, stores it.
        opts.OnException(e => e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: MartenTables.StreamKey })
            .RetryWithCooldown(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500));

        var settings = configuration.GetSection(StatsOptions.Section).Get<StatsOptions>() ?? new StatsOptions();
        if (Parse(settings.Transport) == Local)
        {
            return;
        }

        var address = configuration.GetConnectionString("RabbitMq");
        if (string.IsNullOrWhiteSpace(address) || !Uri.TryCreate(address, UriKind.Absolute, out var broker))
        {
            throw new InvalidOperationException(
                "Stats__Transport=rabbitmq needs ConnectionStrings__RabbitMq, an AMQP address such as amqp://user:password@rabbitmq:5672.");
        }

        opts.UseRabbitMq(broker)
            .AutoProvision()
            .ConfigureChannelCreation(channel =>
            {
                // The publish awaits the broker's confirm (and throws on a nack): only then is a 202 sent.
                channel.PublisherConfirmationsEnabled = true;
                channel.PublisherConfirmationTrackingEnabled = true;
            })

            // A group that keeps failing lands in Wolverine's dead letters in PostgreSQL, as with the local
            // transport: counted on /metrics and the dashboard, replayed with POST /api/v1/admin/dead-letters:replay.
            .CustomizeDeadLetterQueueing(new DeadLetterQueue(RabbitMqTransport.DeadLetterQueueName, DeadLetterQueueMode.WolverineStorage));

        // An inline sender publishes on the caller's await; with the synchronous retry block a failed publish is
        // retried there and then thrown to the caller (503), instead of being retried in the background after the
        // caller was told "accepted".
        opts.Durability.UseSyncRetryBlock = true;

        // A quorum queue writes every message to its log before confirming it, persistent flag or not, and survives
        // a broker restart.
        opts.PublishMessage<RecordPageViews>().ToRabbitQueue(QueueName, Quorum).SendInline();
        opts.ListenToRabbitQueue(QueueName, Quorum)
            .ProcessInline()
            .PreFetchCount(4)
            .ListenerCount(Math.Max(1, settings.ConcurrentCommits));
    }

    /// <summary>Drops a delivery whose group is already stored, at whatever attempt.</summary>
    private sealed class AlreadyStored : IContinuationSource
    {
        public string Description => "Discard: the group is already stored";

        public IContinuation Build(Exception ex, Envelope envelope) => new DiscardEnvelope(ex);
    }

    private static void Quorum(IRabbitMqQueue queue) => queue.QueueType = QueueType.quorum;

    private static string Parse(string? transport) => (transport ?? Local).Trim().ToLowerInvariant() switch
    {
        "" or Local => Local,
        RabbitMq => RabbitMq,
        _ => throw new InvalidOperationException($"Stats__Transport must be '{Local}' or '{RabbitMq}', not '{transport}'."),
    };
}
