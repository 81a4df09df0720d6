using CCHC.Stats.Api.Counters;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CCHC.Stats.IntegrationTests;

/// <summary>
/// The online rule has two forms side by side in <see cref="OnlineWindow"/>: <c>Contains</c>, which <c>asOf</c> asks of the
/// raw views, and <c>ContainsSql</c>, which the live counters ask of the stored visitor-days in PostgreSQL. Here both
/// answer for the same last views around the window's edges; they must agree on every one.
/// </summary>
public sealed class OnlineRuleTests(StatsApp app)
{
    [Fact]
    public async Task the_live_counters_sql_and_the_asOf_recount_agree_on_who_is_online_at_the_windows_edges()
    {
        // Whole microseconds: PostgreSQL keeps a time to the microsecond.
        var until = new DateTimeOffset(2026, 11, 29, 7, 25, 0, TimeSpan.Zero).AddTicks(4_560);
        var window = OnlineWindow.Before(until, 5);
        var microsecond = TimeSpan.FromMicroseconds(1);
        DateTimeOffset[] lastViews =
        [
            window.Since - TimeSpan.FromMinutes(1), window.Since - microsecond, window.Since, window.Since + microsecond, until - TimeSpan.FromMinutes(2),
            until - microsecond, until, until + microsecond, until + TimeSpan.FromMinutes(1),
        ];
        var prefix = $"online-{Guid.NewGuid():N}"[..16];
        var day = DateOnly.FromDateTime(until.UtcDateTime);
        var visitorDays = lastViews.Select((at, i) => VisitorDay.Of($"{prefix}-{i}", day, "reader", [new VisitRun(at - TimeSpan.FromSeconds(1), at, null)]))
            .ToList();

        var database = app.Services.GetRequiredService<NpgsqlDataSource>();
        var store = app.Services.GetRequiredService<VisitorDayStore>();
        var schema = app.Services.GetRequiredService<Marten.IDocumentStore>().Options.DatabaseSchemaName;
        await using (var insert = database.CreateCommand(VisitorDayStore.InsertSql(schema, n => $"${n}")))
        {
            insert.Parameters.AddRange(VisitorDayStore.Rows.Of(visitorDays).Values.Select(v => new NpgsqlParameter { Value = v }).ToArray());
            await insert.ExecuteNonQueryAsync();
        }

        var asked = new List<(DateTimeOffset LastView, bool InSql, bool InCSharp)>();
        for (var i = 0; i < lastViews.Length; i++)
        {
            await using var batch = database.CreateBatch();
            batch.BatchCommands.Add(store.OnlineCommand([$"{prefix}-{i}"], window));
            var online = (long)(await batch.ExecuteScalarAsync())!;
            asked.Add((lastViews[i], online == 1, window.Contains(lastViews[i])));
        }

        Assert.All(asked, a => Assert.Equal(a.InCSharp, a.InSql));
        Assert.Equal([false, false, false, true, true, true, true, false, false], asked.Select(a => a.InCSharp));
    }
}
