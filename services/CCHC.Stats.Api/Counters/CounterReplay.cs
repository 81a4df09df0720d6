using System.Text.Json;
using System.Threading.Channels;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Ingestion;
using Marten;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CCHC.Stats.Api.Counters;

/// <summary>
/// Rebuilds the counters from the whole event store with the projection's own rules (<see cref="CounterBook"/>),
/// in a pipeline: one task reads pages of events, one applies them, one writes each page's documents, so that
/// PostgreSQL inserting page n overlaps the service reading and applying page n + 1.
/// </summary>
/// <remarks>
/// <para>
/// Why not Marten's <c>RebuildProjectionAsync</c>: the daemon handles one page at a time — fetch, apply, write,
/// commit, then the next fetch — so on two cores the service and PostgreSQL take turns; measured, the machine was
/// a third busy and the rebuild ran at ~29k events/s. The live projection still runs in the daemon; this only
/// replaces the replay from zero, and hands back to the daemon at the high-water mark it replayed to.
/// </para>
/// <para>
/// Visitor-days are held in memory while their site-day is in use (met in the last <see cref="KeepPages"/> pages),
/// so a page needs no lookups: a visitor-day of a site-day first met in this replay and not in memory does not
/// exist (the replay began by deleting them all). Site-days out of use are evicted, their visitor-days written
/// already; so are the least recently used ones when more than <see cref="MaxResident"/> visitor-days are held.
/// A view for an evicted site-day (an import, events out of day order) waits for the writer to catch up and loads
/// its visitor-days from the database. Each page adds its count changes as the live projection does, but for the rows it
/// knows are new, which it inserts outright: a quarter cheaper a row (<c>SplitNew</c>).
/// </para>
/// <para>
/// A page's changes are written as the live projection writes them but for the months, years and all time of pages and
/// sources (<see cref="CountStore.RolledUpFromDays"/>): those are summed from their days once, at the end, in two parts at
/// once (<see cref="CountStore.RollUpParts"/>), before the last progress mark. Most of a page's views are the first of their
/// page that day, month and year, so this writes about one row a view where the increments wrote four.
/// </para>
/// <para>
/// Two indexes only reads use are dropped at the start and made once their rows are written, one sort beating an entry a
/// row: the counts' pages by period (<see cref="CountStore.PagesIndexSql"/>) and the visitor-days' online index
/// (<see cref="VisitorDayStore.OnlineIndexSql"/>), the latter beside the final sum, which writes only counts. Nothing reads
/// through them while a rebuild runs.
/// </para>
/// <para>
/// Each page is written in one transaction together with the projection's progress mark, as the daemon does, whose
/// commit does not wait for the disk (a page the database loses in a crash takes its mark with it: 1.14× the rebuild's
/// rate, docs/BENCHMARKS.md). If the replay fails, the days it wrote are summed before the daemon carries on from that
/// mark, so the counts and the mark agree; if the node dies midway, the next projection node starts the rebuild over
/// (<see cref="Audit.RebuildCounters"/>).
/// </para>
/// </remarks>
public sealed class CounterReplay(IDocumentStore store, MartenTables tables, NpgsqlDataSource database, VisitorDayStore visitorDays,
    VisitorDayCache liveCache, IOptions<StatsOptions> options, TimeProvider clock, ILogger<CounterReplay> logger)
{
    /// <summary>Events per page (<see cref="StatsOptions.RebuildPageSize"/>).</summary>
    private readonly int _pageSize = options.Value.RebuildPageSize;

    /// <summary>Pages read ahead of the applier, and write sets queued ahead of the writer.</summary>
    private const int Lookahead = 2;

    /// <summary>A site-day not met in this many pages is evicted from memory.</summary>
    private const int KeepPages = 10;

    /// <summary>At most this many visitor-days in memory (about 45 MB); beyond, the least recently used site-days go.</summary>
    private const int MaxResident = 100_000;

    private string DocumentSchema => store.Options.DatabaseSchemaName;

    /// <summary>
    /// Deletes every counter and visitor-day, replays every event up to <paramref name="ceiling"/> (a high-water
    /// mark: no append below it is still in flight) and leaves the projection's mark there. The daemon must not run
    /// the projection meanwhile: <see cref="Audit.RebuildCounters"/> pauses the coordinator before, resumes it after.
    /// </summary>
    public async Task RunAsync(long ceiling, CancellationToken ct)
    {
        // The daemon is paused: the live projection's cached visitor-days are about to be rewritten under it.
        liveCache.Clear();
        await TeardownAsync(ct);
        var rollUp = new RollUp();
        try
        {
            await ReplayAsync(ceiling, rollUp, ct);
        }
        catch (Exception e) when (!ct.IsCancellationRequested && !rollUp.Done)
        {
            // The daemon carries on from the last page written: its months, years and all time are summed first.
            logger.LogWarning(e, "The counter replay failed; summing the months, years and all time of the pages it wrote");
            await RollUpAsync(rollUp, ct);
            throw;
        }
        finally
        {
            // Made again whether the replay succeeded or not (the live projection and the reads need them); the online
            // index is made already when the replay came to its end.
            await MakeIndexAsync($"{CountStore.PagesIndexSql(DocumentSchema)}; {VisitorDayStore.OnlineIndexSql(DocumentSchema)}", CancellationToken.None);
        }
    }

    /// <summary>Makes the indexes the replay dropped (<see cref="TeardownAsync"/>), however long it takes.</summary>
    private async Task MakeIndexAsync(string sql, CancellationToken ct)
    {
        await using var index = database.CreateCommand(sql);
        index.CommandTimeout = 0;
        await index.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// The days the replay met, whose pages' and sources' months, years and all time it leaves to a sum at the end
    /// (<see cref="CountStore.RolledUpFromDays"/>), and which parts of that sum (<see cref="CountStore.RollUpParts"/>) are written.
    /// </summary>
    private sealed class RollUp
    {
        /// <summary>Whether each part is written; a part's task sets its own slot alone.</summary>
        private readonly bool[] _summed = new bool[CountStore.RollUpParts.Count];

        public HashSet<DateOnly> Days { get; } = [];

        public bool Done => Pending().Count == 0;

        public List<int> Pending() => Enumerable.Range(0, _summed.Length).Where(part => !Volatile.Read(ref _summed[part])).ToList();

        public void Summed(int part) => Volatile.Write(ref _summed[part], true);
    }

    /// <summary>
    /// Sums the pages' and sources' days into their months, years and all time after a failed replay, so that the counts
    /// agree with the progress mark the daemon goes on from. Retried until it succeeds (a database that is away): until then
    /// the rebuild stays running and the daemon paused, so no half-counted figure is served.
    /// </summary>
    private async Task RollUpAsync(RollUp rollUp, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await SumAsync(rollUp, ct);
                return;
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                logger.LogError(e, "Could not sum the replayed days into their months, years and all time (attempt {Attempt}); trying again", attempt);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, attempt * 2)), clock, ct);
            }
        }
    }

    /// <summary>
    /// Sums the replayed days into the months, years and all time of the pages and sources: the parts of the sum not written
    /// yet (<see cref="CountStore.RollUpParts"/>), at once, each in a transaction on a connection of its own, after the
    /// table's statistics are refreshed (<see cref="CountStore.AnalyzeSql"/>). A part that fails fails the whole, once the
    /// others have ended; those that committed are not summed again.
    /// </summary>
    private async Task SumAsync(RollUp rollUp, CancellationToken ct)
    {
        await using (var analyze = database.CreateCommand(CountStore.AnalyzeSql(DocumentSchema)))
        {
            analyze.CommandTimeout = 0;
            await analyze.ExecuteNonQueryAsync(ct);
        }

        var days = rollUp.Days.ToList();
        await Task.WhenAll(rollUp.Pending().Select(async part =>
        {
            await using var connection = await database.OpenConnectionAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            await using var batch = new NpgsqlBatch(connection, transaction) { Timeout = 0 };
            foreach (var command in CountStore.RollUpCommands(DocumentSchema, days, CountStore.RollUpParts[part]))
            {
                batch.BatchCommands.Add(command);
            }

            await batch.ExecuteNonQueryAsync(ct);
            await transaction.CommitAsync(ct);
            rollUp.Summed(part);
        }));
    }

    private async Task ReplayAsync(long ceiling, RollUp rollUp, CancellationToken ct)
    {
        var pages = Channel.CreateBounded<Page>(Lookahead);
        var writes = Channel.CreateBounded<WriteSet>(Lookahead);
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var reading = CancelOnFailure(ReadAsync(ceiling, pages.Writer, failed.Token), failed);
        var writing = CancelOnFailure(WriteAsync(writes.Reader, rollUp, failed.Token), failed);
        try
        {
            var state = new ReplayState(this, rollUp.Days);
            WriteSet? last = null;
            await foreach (var page in pages.Reader.ReadAllAsync(failed.Token))
            {
                last = await state.ApplyAsync(page, last, failed.Token);
                await writes.Writer.WriteAsync(last, failed.Token);
            }

            await writes.Writer.WriteAsync(WriteSet.Last(ceiling), failed.Token);
        }
        catch (OperationCanceledException) when (failed.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            // The reader or the writer failed: surface its exception rather than the cancellation.
        }
        catch
        {
            // The applier failed: stop the reader and the writer (and their connections) before giving up.
            await failed.CancelAsync();
            await Task.WhenAll(reading, writing).ContinueWith(_ => { }, TaskScheduler.Default);
            throw;
        }
        finally
        {
            writes.Writer.TryComplete();
        }

        await Task.WhenAll(reading, writing);
        ct.ThrowIfCancellationRequested();
    }

    private static async Task CancelOnFailure(Task task, CancellationTokenSource failed)
    {
        try
        {
            await task;
        }
        catch
        {
            await failed.CancelAsync();
            throw;
        }
    }

    private async Task TeardownAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var teardown = string.Join("; ", VisitorDayStore.TruncateSql(DocumentSchema), CountStore.TruncateSql(DocumentSchema),
            CountStore.DropPagesIndexSql(DocumentSchema), VisitorDayStore.DropOnlineIndexSql(DocumentSchema));
        await using (var truncate = new NpgsqlCommand(teardown, connection, transaction))
        {
            await truncate.ExecuteNonQueryAsync(ct);
        }

        await using (var progress = new NpgsqlBatch(connection, transaction) { BatchCommands = { tables.SetCountersCommand(0) } })
        {
            await progress.ExecuteNonQueryAsync(ct);
        }

        await transaction.CommitAsync(ct);
    }

    /// <summary>Reads the counted events in sequence order, a page at a time, on a connection of its own.</summary>
    private async Task ReadAsync(long ceiling, ChannelWriter<Page> pages, CancellationToken ct)
    {
        try
        {
            await using var connection = await database.OpenConnectionAsync(ct);
            var after = 0L;
            while (after < ceiling)
            {
                await using var read = new NpgsqlBatch(connection) { BatchCommands = { tables.CountedFactsCommand(after, ceiling, _pageSize) } };
                var facts = new List<object>(_pageSize);
                await using (var reader = await read.ExecuteReaderAsync(ct))
                {
                    while (await reader.ReadAsync(ct))
                    {
                        after = reader.GetInt64(0);
                        facts.Add(reader.GetString(1) switch
                        {
                            "page_viewed" => JsonSerializer.Deserialize<PageViewed>(reader.GetString(2), StoredJson.Options)!,
                            "baseline_recorded" => JsonSerializer.Deserialize<BaselineRecorded>(reader.GetString(2), StoredJson.Options)!,
                            "page_baseline_recorded" => JsonSerializer.Deserialize<Pages.PageBaselineRecorded>(reader.GetString(2), StoredJson.Options)!,
                            _ => JsonSerializer.Deserialize<BaselineWithdrawn>(reader.GetString(2), StoredJson.Options)!,
                        });
                    }
                }

                if (facts.Count == 0)
                {
                    break;
                }

                await pages.WriteAsync(new Page(facts, after), ct);
            }
        }
        finally
        {
            pages.TryComplete();
        }
    }

    /// <summary>
    /// Writes each page's rows and the progress mark in one transaction, in page order; at the end, sums the days into their
    /// months, years and all time before the last mark.
    /// </summary>
    private async Task WriteAsync(ChannelReader<WriteSet> writes, RollUp rollUp, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        await foreach (var set in writes.ReadAllAsync(ct))
        {
            if (set.RollsUp)
            {
                // Every visitor-day is written: their online index is made beside the sum, which writes only counts.
                await Task.WhenAll(SumAsync(rollUp, ct), MakeIndexAsync(VisitorDayStore.OnlineIndexSql(DocumentSchema), ct));
            }

            await using var transaction = await connection.BeginTransactionAsync(ct);
            await using var batch = new NpgsqlBatch(connection, transaction);

            // A page's commit does not wait for its WAL to reach the disk: a database that crashes loses at most the last
            // pages, with the progress mark they carry, and the rebuild, still marked running, starts over.
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SET LOCAL synchronous_commit = off"));
            if (set.Created.Count > 0)
            {
                batch.BatchCommands.Add(Command(VisitorDayStore.InsertSql(DocumentSchema, n => $"${n}"), set.Created.Values));
            }

            if (set.Changed.Count > 0)
            {
                batch.BatchCommands.Add(Command(VisitorDayStore.UpdateSql(DocumentSchema, n => $"${n}"), set.Changed.Values));
            }

            if (set.NewCounts is { } newCounts)
            {
                batch.BatchCommands.Add(Command(CountStore.InsertSql(DocumentSchema, n => $"${n}"), newCounts));
            }

            if (set.Counts is { } counts)
            {
                batch.BatchCommands.Add(Command(CountStore.IncrementSql(DocumentSchema, n => $"${n}"), counts));
            }

            if (set.Titles is { } titles)
            {
                batch.BatchCommands.Add(Command(CountStore.TitlesSql(DocumentSchema, n => $"${n}"), titles));
            }

            batch.BatchCommands.Add(tables.SetCountersCommand(set.Progress));
            await batch.ExecuteNonQueryAsync(ct);
            await transaction.CommitAsync(ct);
            set.Written.TrySetResult();
        }

        static NpgsqlBatchCommand Command(string sql, object[] values)
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.AddRange(values.Select(v => new NpgsqlParameter { Value = v }).ToArray());
            return command;
        }
    }

    /// <summary>Loads visitor-days the replay no longer holds (a late view for an evicted site-day).</summary>
    private Task<List<VisitorDay>> LoadAsync(IReadOnlyCollection<string> visitorDayIds, CancellationToken ct) => visitorDays.LoadAsync(visitorDayIds, ct);

    private sealed record Page(IReadOnlyList<object> Facts, long LastSequence);

    /// <summary>
    /// One page's writes as the statements' parameter values (<see cref="CountStore.IncrementValues"/>,
    /// <see cref="CountStore.TitlesValues"/>, <see cref="VisitorDayStore.Rows"/>; null: none), made when the page was applied:
    /// the visitor-days change again later, and the writer, the pipeline's slowest stage, only sends them.
    /// </summary>
    private sealed record WriteSet(VisitorDayStore.Rows Created, VisitorDayStore.Rows Changed, object[]? NewCounts, object[]? Counts, object[]? Titles,
        long Progress, bool RollsUp = false)
    {
        public TaskCompletionSource Written { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The end: the days summed into their months, years and all time, and the mark at the high-water mark.</summary>
        public static WriteSet Last(long progress) => new(VisitorDayStore.Rows.None, VisitorDayStore.Rows.None, null, null, null, progress, RollsUp: true);
    }

    /// <summary>The visitor-days in memory and the site-days whose visitor-days are only in the database.</summary>
    private sealed class ReplayState(CounterReplay replay, HashSet<DateOnly> days)
    {
        private readonly Dictionary<string, VisitorDay> _visitorDays = [];

        /// <summary>Visitor-days in memory that are also in the database (the rest are new: INSERT, not UPDATE).</summary>
        private readonly HashSet<string> _stored = [];

        /// <summary>The visitor-day ids in memory, by site-day, for eviction.</summary>
        private readonly Dictionary<(string SiteId, DateOnly Day), List<string>> _resident = [];

        private readonly HashSet<(string SiteId, DateOnly Day)> _evicted = [];

        /// <summary>The count rows written of the site-days held since they were first met (<see cref="SplitNew"/>).</summary>
        private readonly Dictionary<(string SiteId, DateOnly Day), HashSet<CountKey>> _written = [];

        /// <summary>What the page being applied touches (kept: a page's visitor-day table would be a large object).</summary>
        private readonly TouchedDocuments _touched = new(replay._pageSize);

        /// <summary>The page that last met each site-day in memory.</summary>
        private readonly Dictionary<(string SiteId, DateOnly Day), long> _lastMet = [];
        private long _page;

        public async Task<WriteSet> ApplyAsync(Page page, WriteSet? previous, CancellationToken ct)
        {
            _page++;
            var touched = _touched.Of(page.Facts);
            var (siteDays, visitorDayIds) = (touched.SiteDays, touched.VisitorDays);

            // The visitor-days of evicted site-days are in the database once the writer has caught up.
            var missingVisitorDays = visitorDayIds.Where(v => _evicted.Contains(v.Value) && !_visitorDays.ContainsKey(v.Key))
                .Select(v => v.Key).ToList();
            if (missingVisitorDays.Count > 0)
            {
                if (previous is not null)
                {
                    await previous.Written.Task.WaitAsync(ct);
                }

                foreach (var visitorDay in await replay.LoadAsync(missingVisitorDays, ct))
                {
                    Keep(visitorDay, visitorDayIds[visitorDay.Id]);
                }
            }

            var book = new CounterBook(visitorDayIds.Keys.Where(_visitorDays.ContainsKey).ToDictionary(id => id, id => _visitorDays[id]));
            book.ApplyAll(page.Facts);

            var created = new List<VisitorDay>();
            var changed = new List<VisitorDay>();
            foreach (var visitorDay in book.VisitorDays)
            {
                (_stored.Contains(visitorDay.Id) ? changed : created).Add(visitorDay);

                // Stored from now on for the pages after this one: the writer writes pages in order.
                Keep(visitorDay, visitorDayIds[visitorDay.Id]);
            }

            days.UnionWith(siteDays.Select(d => d.Day));
            var (newCounts, counts) = SplitNew(CountStore.WithoutRolledUp(book.Changes));
            var set = new WriteSet(VisitorDayStore.Rows.Of(created), VisitorDayStore.Rows.Of(changed),
                newCounts.Count > 0 ? CountStore.IncrementValues(newCounts) : null, counts.Count > 0 ? CountStore.IncrementValues(counts) : null,
                book.Titles.Count > 0 ? CountStore.TitlesValues(book.Titles) : null, page.LastSequence);
            Evict(siteDays);
            return set;
        }

        /// <summary>
        /// Parts a page's count changes into the rows that are not in the table yet, and the others. The replay began by
        /// emptying the table and is its only writer, so a row of a period within a day (<see cref="PeriodKeys.DayOf"/>) whose
        /// site-day it has held since first meeting it is new unless an earlier page wrote it: those it keeps, by site-day,
        /// until it puts the site-day away. A site-day put away and met again, and the periods that span days, are added to.
        /// </summary>
        private (Dictionary<CountKey, Counts> New, Dictionary<CountKey, Counts> Others) SplitNew(Dictionary<CountKey, Counts> changes)
        {
            var (created, others) = (new Dictionary<CountKey, Counts>(changes.Count), new Dictionary<CountKey, Counts>());
            foreach (var (key, change) in changes)
            {
                if (PeriodKeys.DayOf(key.Period, key.PeriodKey) is { } day && !_evicted.Contains((key.Scope, day)))
                {
                    if (!_written.TryGetValue((key.Scope, day), out var written))
                    {
                        _written[(key.Scope, day)] = written = [];
                    }

                    if (written.Add(key))
                    {
                        created[key] = change;
                        continue;
                    }
                }

                others[key] = change;
            }

            return (created, others);
        }

        /// <summary>Holds a visitor-day that is, or is about to be, in the database.</summary>
        private void Keep(VisitorDay visitorDay, (string SiteId, DateOnly Day) siteDay)
        {
            if (_visitorDays.TryAdd(visitorDay.Id, visitorDay))
            {
                if (!_resident.TryGetValue(siteDay, out var ids))
                {
                    _resident[siteDay] = ids = [];
                }

                ids.Add(visitorDay.Id);
            }

            _stored.Add(visitorDay.Id);
        }

        /// <summary>
        /// Drops from memory the site-days out of use, and the least recently used beyond <see cref="MaxResident"/>
        /// visitor-days. Their last change is queued to the writer already, which a later load waits for.
        /// </summary>
        private void Evict(HashSet<(string SiteId, DateOnly Day)> met)
        {
            foreach (var siteDay in met)
            {
                _lastMet[siteDay] = _page;
            }

            var resident = _visitorDays.Count;
            foreach (var (siteDay, lastMet) in _lastMet.OrderBy(e => e.Value).ToList())
            {
                if (lastMet > _page - KeepPages && resident <= MaxResident)
                {
                    break;
                }

                if (_resident.Remove(siteDay, out var ids))
                {
                    foreach (var id in ids)
                    {
                        _visitorDays.Remove(id);
                        _stored.Remove(id);
                    }

                    resident -= ids.Count;
                }

                _lastMet.Remove(siteDay);
                _written.Remove(siteDay);
                _evicted.Add(siteDay);
            }
        }
    }
}
