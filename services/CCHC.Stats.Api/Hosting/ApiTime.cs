using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CCHC.Stats.Api.Hosting;

/// <summary>
/// Every time the API reads (a query's <c>asOf</c>, <c>from</c>, <c>to</c>; a body's <c>asOf</c>, <c>occurredAt</c>): ISO-8601
/// with an explicit offset or <c>Z</c> — a time without one names no moment — and within the years the service counts.
/// </summary>
public static class ApiTime
{
    /// <summary>No portal counted before this; earlier moments would also fall outside the calendar arithmetic.</summary>
    public static readonly DateTimeOffset Earliest = new(1970, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Far enough for any range an auditor asks, with room left for the day arithmetic around it.</summary>
    public static readonly DateTimeOffset Latest = new(9000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public const string ExpectedForm = "an ISO-8601 time with an offset, e.g. 2026-11-29T14:25:00+07:00";

    /// <summary>Reads <paramref name="text"/>; on failure <paramref name="problem"/> says, in plain words, what was expected.</summary>
    public static bool TryParse(string? text, out DateTimeOffset instant, out string? problem)
    {
        instant = default;
        problem = null;
        var timePart = text?.IndexOf('T') is >= 0 and var t ? text[t..] : "";
        var hasOffset = timePart.EndsWith('Z') || timePart.EndsWith('z') || timePart.LastIndexOfAny(['+', '-']) > 0;
        if (!hasOffset || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out instant))
        {
            problem = $"expected {ExpectedForm}";
            return false;
        }

        if (instant < Earliest || instant >= Latest)
        {
            problem = $"must lie between {Earliest:yyyy-MM-dd} and {Latest:yyyy-MM-dd}";
            return false;
        }

        return true;
    }

    /// <summary>A 400 for a query parameter that is not such a time.</summary>
    public static IResult Invalid(string name, string problem) =>
        Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: $"Invalid {name}.", detail: $"'{name}' {problem}.");
}

/// <summary>Reads times in request bodies by <see cref="ApiTime"/>'s rule; writes them in ISO-8601 with their offset.</summary>
public sealed class ApiTimeConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        return ApiTime.TryParse(text, out var instant, out var problem) ? instant : throw new FieldException(problem!);
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}

/// <summary>A field's value read but refused, with the reason in the words the client is answered (see <see cref="JsonBody.Describe"/>).</summary>
public sealed class FieldException(string reason) : JsonException(reason);
