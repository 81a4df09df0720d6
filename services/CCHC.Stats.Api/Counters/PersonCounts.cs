using Marten;
using Npgsql;
using NpgsqlTypes;

namespace CCHC.Stats.Api.Counters;

/// <summary>
/// Counts people over several sites (a group's members) from the visitor-days the engine stored: a public view's
/// pseudonym is the same on every site of the deployment that day (<see cref="Ingestion.VisitorIdentity"/>), so a person
/// is one distinct pseudonym, whichever members they read. SQL here selects visitor-days and counts distinct pseudonyms;
/// which visitor-days belong to a day, and who is online, follow the rules written once in <see cref="VisitorDay"/> and
/// <see cref="OnlineWindow"/>.
/// </summary>
/// <remarks>
/// A visitor-day holds the views of one local day, so its last view lies in that day: the day's visitor-days are those
/// whose <see cref="VisitorDay.LastSeenMinute"/> lies in it (both ends are whole minutes), found by the index on site and
/// minute that "online now" uses.
/// </remarks>
public sealed class PersonCounts(IDocumentStore store)
{
    private string Table => $"{store.Options.DatabaseSchemaName}.mt_doc_{VisitorDay.DocumentAlias}";

    /// <summary>
    /// The statement that counts the distinct people among the sites' visitors of the local day [<paramref name="start"/>,
    /// <paramref name="end"/>), those whose first view that day is at or before <paramref name="upTo"/> when it is given
    /// (the day as it stood then). One column, one row.
    /// </summary>
    public NpgsqlBatchCommand DayCommand(IReadOnlyList<string> sites, DateTimeOffset start, DateTimeOffset end, DateTimeOffset? upTo)
    {
        var command = new NpgsqlBatchCommand(
            $"""
            SELECT count(DISTINCT split_part(id, '/', 3)) FROM {Table}
            WHERE site_id = ANY($1) AND last_seen_minute >= $2 AND last_seen_minute < $3
              AND ($4::timestamptz IS NULL OR (data -> 'runs' -> 0 ->> 'first')::timestamptz <= $4)
            """);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Varchar, Value = sites.ToArray() });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = start.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = end.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = (object?)upTo?.ToUniversalTime() ?? DBNull.Value });
        return command;
    }

    /// <summary>
    /// The statement that counts the distinct people online over the sites now: visitor-days whose last view is in the window
    /// (<see cref="OnlineWindow.Contains"/>), one person per day and pseudonym (the pseudonym changes at local midnight, as
    /// a site's online count has it). One column, one row.
    /// </summary>
    public NpgsqlBatchCommand OnlineCommand(IReadOnlyList<string> sites, OnlineWindow window)
    {
        var command = new NpgsqlBatchCommand(
            $"""
            SELECT count(DISTINCT substr(id, length(site_id) + 2)) FROM {Table}
            WHERE site_id = ANY($1) AND last_seen_minute >= $2 AND last_seen > $3 AND last_seen <= $4
            """);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Varchar, Value = sites.ToArray() });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = VisitorDay.MinuteOf(window.Since) });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = window.Since.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = window.Until.ToUniversalTime() });
        return command;
    }
}
