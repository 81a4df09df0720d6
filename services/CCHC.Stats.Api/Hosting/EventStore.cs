using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Ingestion;
using CCHC.Stats.Api.Sites;
using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Npgsql;
using Weasel.Core;
using Wolverine;
using Wolverine.ErrorHandling;
using Wolverine.Marten;
using Wolverine.Runtime;

namespace CCHC.Stats.Api.Hosting;

/// <summary>The event store (Marten) and the bus (Wolverine), configured in one place.</summary>
public static class EventStore
{
    /// <summary>The event types of the store; each is read back by its alias (the <c>type</c> column).</summary>
    private static readonly Type[] EventTypes =
        [typeof(PageViewed), typeof(BaselineRecorded), typeof(BaselineWithdrawn), typeof(Pages.PageBaselineRecorded), typeof(CCHC.Stats.Api.Audit.DaySealed), typeof(Groups.GroupDefined)];

    public static WebApplicationBuilder AddEventStore(this WebApplicationBuilder builder, string connectionString)
    {
        // Auto-prepare: an append is hundreds of identical INSERTs in one batch; prepared, PostgreSQL parses
        // and plans them once per connection instead of once per event.
        var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString)
        {
            MaxAutoPrepare = 64,
            AutoPrepareMinUsages = 2,
        }.ConnectionString);
        builder.Services.AddSingleton(dataSource);
        builder.Services.AddSingleton<MartenTables>();
        builder.Services.AddHostedService<DatabaseSetup>();
        var counterCommits = new CounterCommits();
        builder.Services.AddSingleton(counterCommits);
        var visitorDayCache = new VisitorDayCache(builder.Configuration.GetValue(
            $"{StatsOptions.Section}:{nameof(StatsOptions.VisitorDayCache)}", new StatsOptions().VisitorDayCache));
        builder.Services.AddSingleton(visitorDayCache);
        builder.Services.AddMarten(opts =>
            {
                opts.Connection(dataSource);
                opts.UseSystemTextJsonForSerialization(EnumStorage.AsString, Casing.CamelCase);
                opts.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;

                opts.Events.StreamIdentity = StreamIdentity.AsGuid;
                // Quick append, with the event's timestamp passed from here: plain Quick mode writes UTC wall time
                // read in the session's time zone (7 hours off on a database set to Asia/Ho_Chi_Minh).
                opts.Events.AppendMode = EventAppendMode.QuickWithServerTimestamps;
                foreach (var type in EventTypes)
                {
                    opts.Events.AddEventType(type);

                    // Marten writes the .NET type's full name beside the alias on every event (53 bytes per view
                    // here) and reads it only when the alias is unknown. Ours are all registered: the column stays NULL.
                    ((Marten.Events.EventGraph)opts.Events).EventMappingFor(type).DotNetTypeName = null!;
                }

                // The service's own indexes on the event table (MartenTables.IndexesSql): Marten leaves them alone.
                opts.Events.IgnoreIndex(MartenTables.SiteDayIndex);
                opts.Events.IgnoreIndex(MartenTables.BaselineIndex);
                opts.Events.IgnoreIndex(MartenTables.PageBaselineIndex);

                // No last-modified, version or .NET type columns on documents: nothing reads them.
                opts.Policies.DisableInformationalFields();

                opts.Schema.For<Site>();
                opts.Schema.For<Groups.Group>();
                opts.Schema.For<DailySalt>();
                opts.Schema.For<ImportPepper>();
                opts.Schema.For<CCHC.Stats.Api.Audit.RebuildStatus>();
                opts.Schema.For<Retries.IdempotencyReceipt>();
                var visitorDays = new VisitorDayStore(dataSource, opts.DatabaseSchemaName);
                opts.Projections.Add(new CounterProjection(visitorDayCache, visitorDays), ProjectionLifecycle.Async, CounterProjection.Name, o =>
                {
                    o.BatchSize = CounterProjection.PageSize;
                    o.DeleteDataInTableOnTeardown(VisitorDayStore.QualifiedIn(opts.DatabaseSchemaName));
                    o.DeleteDataInTableOnTeardown($"{opts.DatabaseSchemaName}.{CountStore.Table}");
                    o.DeleteDataInTableOnTeardown($"{opts.DatabaseSchemaName}.{CountStore.TitlesTable}");
                });
                opts.Projections.AsyncListeners.Add(counterCommits);
                opts.Projections.Errors.SkipApplyErrors = false;
                opts.OpenTelemetry.TrackEventCounters();
                opts.Projections.LeadershipPollingTime = 1000;

                // A gap in the event sequence older than this is taken for a rolled-back append and skipped for
                // good. With Marten's 3 s default, a transaction slower than 3 s to commit (a starved machine,
                // twelve committers on three nodes) would have its views stored and never counted. Senders give
                // up after Stats:DurableWriteTimeout (10 s), so a gap still open after 15 s is a rollback; a real
                // one (a killed node's open transaction) holds the counters for 15 s instead of 3.
                opts.Projections.StaleSequenceThreshold = TimeSpan.FromSeconds(15);
            })
            .UseLightweightSessions()
            .IntegrateWithWolverine()

            // Hot/cold: every node is ready to run the projection, exactly one does, holding a PostgreSQL
            // advisory lock. A killed node's connection drops and another takes over within the leadership
            // poll. Wolverine-managed distribution waited for two missed health checks before moving a dead
            // node's projection (20 s and more here), and with one projection there is nothing to spread.
            .AddAsyncDaemon(builder.Configuration.GetValue("Stats:RunProjections", true) ? DaemonMode.HotCold : DaemonMode.Disabled);

        builder.Host.UseWolverine(opts =>
        {
            opts.ServiceName = "cchc-stats";

            // Named explicitly: under a test host the entry assembly is the test runner, and Wolverine would
            // find no handler (a 202 for a view that is never written).
            opts.ApplicationAssembly = typeof(RecordPageViewsHandler).Assembly;

            // The handlers' adapter code is generated ahead of time (Internal/Generated, committed) and loaded from
            // this assembly: no Roslyn at run time (idle memory 320 -> 162 MB) and no compile before the first view.
            // A handler whose code is missing stops the start (HandlerWarmUp asks for it). After changing a handler's
            // signature or the middleware, delete Internal/Generated and run once from the project folder with
            // Stats__RegenerateCode=true: the code is generated, compiled at run time and written back there.
            opts.UseRuntimeCompilation();
            opts.CodeGeneration.TypeLoadMode = builder.Configuration.GetValue("Stats:RegenerateCode", false)
                ? JasperFx.CodeGeneration.TypeLoadMode.Auto
                : JasperFx.CodeGeneration.TypeLoadMode.Static;
            opts.Policies.AutoApplyTransactions();

            // Messages queued locally are kept in PostgreSQL until handled, so a replayed dead letter (or a
            // queued message at a crash) is recovered from the inbox. Views themselves go through InvokeAsync.
            opts.Policies.UseDurableLocalQueues();

            // A passing database fault is retried inside the same InvokeAsync; only then does the sender get 503.
            // A consumer of the broker's queue (rabbitmq) then pauses and puts the message back: the views wait
            // in the broker until PostgreSQL answers again, rather than in a dead-letter table it cannot reach.
            // Not a value the store refuses (a data exception): that fails again however often it is tried.
            opts.OnException<NpgsqlException>(e => !StoreFaults.IsContentFault(e))
                .RetryWithCooldown(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(1))
                .Then.PauseThenRequeue(TimeSpan.FromSeconds(5));

            ViewTransport.Configure(opts, builder.Configuration);
        });
        builder.Services.AddSingleton<ViewTransport>();

        // After Wolverine's own start (hosted services start in order), before the server takes requests.
        builder.Services.AddHostedService<HandlerWarmUp>();

        return builder;
    }
}

/// <summary>
/// Creates or migrates the schema at start (in every environment), adds the event indexes Marten does not
/// model, and analyses the event table so that a new store's daemon does not crawl on missing statistics. Refuses, before
/// any of it, a store a newer build has upgraded (<see cref="StoreVersion"/>).
/// </summary>
public sealed class DatabaseSetup(IDocumentStore store, MartenTables tables, NpgsqlDataSource database, IServiceProvider services, ILogger<DatabaseSetup> logger)
    : IHostedService
{
    /// <summary>Serialises the schema work of nodes starting together (three replicas on a new database).</summary>
    private const long LockKey = 0x43434843_53434845; // "CCHC" "SCHE"

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var schemaLock = await AdvisoryLock.TakeAsync(database, LockKey, cancellationToken);
        var schema = store.Options.DatabaseSchemaName;
        StoreVersion.EnsureNotNewer(await StoreVersion.ReadAsync(schemaLock.Connection, schema, cancellationToken));
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        await using var before = new NpgsqlCommand(
            $"SELECT (to_regclass('{schema}.{CountStore.Table}') IS NULL OR to_regclass('{schema}.{CountStore.TitlesTable}') IS NULL " +
            $"OR to_regclass('{schema}.{CountStore.SourcesIndex}') IS NULL OR to_regclass('{VisitorDayStore.QualifiedIn(schema)}') IS NULL " +
            $"OR obj_description(to_regclass('{schema}.{CountStore.Table}'), 'pg_class') IS DISTINCT FROM '{CountStore.Layout}') " +
            $"AND {tables.HasHistorySql()}",
            schemaLock.Connection);
        var countsMissing = (bool)(await before.ExecuteScalarAsync(cancellationToken))!;
        await using var command = new NpgsqlCommand(
            $"""
            {tables.IndexesSql()}
            {CountStore.CreateSql(schema)}
            {VisitorDayStore.CreateSql(schema)}
            {tables.ObsoleteDocumentsSql()}
            {Operations.TrafficLog.CreateSql(schema)}
            {tables.AnalyzeSql()}
            {StoreVersion.RecordSql(schema)}
            """, schemaLock.Connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
        if (countsMissing)
        {
            // A store from before the counts table (its counters were JSON documents, dropped above), from before pages
            // were counted (no titles table), from before sources were (no sources index), from before visitor-days were
            // rows of their own (their documents dropped above) or from before sites were counted by ten minutes (the
            // table's comment is not CountStore.Layout): the counts are rebuilt from the history once, as an admin's rebuild
            // would be.
            logger.LogWarning("The counts tables are new on a store with history: rebuilding every counter from the events");
            await services.GetRequiredService<Audit.RebuildCounters>().StartAsync(cancellationToken);
        }

        logger.LogInformation("Event store schema is up to date");
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// Builds the view handler's pipeline at start rather than on the first view: with the pre-generated code this
/// only loads it (and a missing type fails the start); with Stats:RegenerateCode it compiles it, which took
/// seconds on a busy two-core machine, long enough for the first views after a start to time out (503).
/// </summary>
public sealed class HandlerWarmUp(IWolverineRuntime runtime, TimeProvider clock, ILogger<HandlerWarmUp> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var started = clock.GetTimestamp();
        runtime.FindInvoker(typeof(RecordPageViews));
        logger.LogInformation("The view handler is ready ({Elapsed} ms)", (long)clock.GetElapsedTime(started).TotalMilliseconds);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
