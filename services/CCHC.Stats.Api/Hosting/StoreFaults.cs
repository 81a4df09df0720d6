namespace CCHC.Stats.Api.Hosting;

/// <summary>
/// What PostgreSQL can store of the text a client sends. JSON may carry <c>\u0000</c> and unpaired surrogates; jsonb
/// refuses both, and a refused value fails the whole transaction it joined, so it is refused at the door, before it
/// can join another sender's (<see cref="Ingestion.ViewBatcher"/>).
/// </summary>
public static class StorableText
{
    public const string Refusal = "holds a character that cannot be stored (U+0000 or an unpaired surrogate)";

    public static bool IsStorable(string? text)
    {
        if (text is null)
        {
            return true;
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0' || char.IsLowSurrogate(c))
            {
                return false;
            }

            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
                {
                    return false;
                }

                i++;
            }
        }

        return true;
    }
}

/// <summary>Why a write to the store failed: its content, or the store's state.</summary>
public static class StoreFaults
{
    /// <summary>
    /// Refused for its content (SQLSTATE class 22, "data exception": untranslatable character, invalid text, numeric
    /// overflow) rather than for the database's state: writing it again will not help.
    /// </summary>
    public static bool IsContentFault(Exception? e) =>
        Chain(e).Any(x => x is Npgsql.PostgresException { SqlState: var state } && state.StartsWith("22", StringComparison.Ordinal));

    /// <summary>
    /// The store could not be reached, did not answer in time, or was shutting down or out of resources (SQLSTATE classes
    /// 08, 40, 53, 57, 58): the same write may succeed later (503). A constraint the write broke is not among them.
    /// </summary>
    public static bool IsUnavailable(Exception? e) => Chain(e).Any(x => x switch
    {
        Npgsql.PostgresException p => p.SqlState[..2] is "08" or "40" or "53" or "57" or "58",
        Npgsql.NpgsqlException or TimeoutException => true,
        _ => false,
    });

    /// <summary>An append that expected a new stream found it there (or was beaten to creating it by another transaction).</summary>
    public static bool IsStreamCollision(Exception? e) => Chain(e).Any(x => x
        is JasperFx.Events.EventStreamUnexpectedMaxEventIdException
        or Marten.Exceptions.ExistingStreamIdCollisionException
        or Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.UniqueViolation, ConstraintName: MartenTables.StreamKey });

    private static IEnumerable<Exception> Chain(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }
}
