using System.Text.Json;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Ingestion;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;

namespace CCHC.Stats.Tests;

/// <summary>What the door refuses before anything joins a shared transaction, and how it says so.</summary>
public sealed class InputSafetyTests
{
    private static readonly Site Portal = new() { Id = "bacgiang", AllowedHosts = ["bacgiang.gov.vn"] };

    // Test data travels to the runner as UTF-8, which cannot carry an unpaired surrogate (it arrives as U+FFFD): cases
    // name them as {High} and {Low}, and Text() puts them in.
    private const string High = "{High}";
    private const string Low = "{Low}";

    private static string Text(string spelled) => spelled.Replace(High, ((char)0xD800).ToString()).Replace(Low, ((char)0xDC00).ToString());

    public static TheoryData<string, bool> Texts => new()
    {
        { "Bắc Giang", true },
        { "emoji 😀 ok", true },
        { "tab\tand\nnewline", true },
        { "nul\0inside", false },
        { "\0", false },
        { $"lone high {High} surrogate", false },
        { $"lone low {Low} surrogate", false },
        { $"ends in a high {High}", false },
        { $"pair in the wrong order {Low}{High}", false },
    };

    [Theory]
    [MemberData(nameof(Texts))]
    public void text_postgres_cannot_hold_is_not_storable(string text, bool storable)
    {
        Assert.Equal(storable, StorableText.IsStorable(Text(text)));
    }

    public static TheoryData<string, string?, string?, string> Poisoned => new()
    {
        { "https://bacgiang.gov.vn/a", "https://www.google.com/\0", null, "'referrer'" },
        { "https://bacgiang.gov.vn/a", null, "Tin t\0c", "'title'" },
        { "https://bacgiang.gov.vn/a", null, $"half {High}", "'title'" },
    };

    [Theory]
    [MemberData(nameof(Poisoned))]
    public void a_view_holding_unstorable_text_is_invalid_and_names_the_field(string url, string? referrer, string? title, string field)
    {
        var (refusal, reason) = ViewRules.Check(Portal, url, referrer, title is null ? null : Text(title));

        Assert.Equal(ViewRules.Refusal.Invalid, refusal);
        Assert.StartsWith(field, reason);
    }

    [Theory]
    [InlineData("2026-11-29T14:25:00+07:00", true)]
    [InlineData("2026-11-29T07:25:00Z", true)]
    [InlineData("2026-11-29T07:25:00.123-05:30", true)]
    [InlineData("2026-12-03T10:00:00", false)]
    [InlineData("2026-12-03", false)]
    [InlineData("0001-01-01T00:00:00Z", false)]
    [InlineData("9999-12-31T23:59:59+14:00", false)]
    [InlineData("1969-12-31T23:59:59Z", false)]
    [InlineData("yesterday", false)]
    [InlineData("", false)]
    public void api_times_carry_an_offset_and_lie_within_the_counted_years(string text, bool valid)
    {
        Assert.Equal(valid, ApiTime.TryParse(text, out _, out var problem));
        Assert.Equal(valid, problem is null);
    }

    [Theory]
    [InlineData("""{"url":"https://x/","occurredAt":"2026-12-03T10:00:00","visitorId":"v"}""", "'occurredAt' expected an ISO-8601 time with an offset")]
    [InlineData("""{"url":"https://x/","occurredAt":12,"visitorId":"v"}""", "'occurredAt' expected an ISO-8601 time with an offset")]
    [InlineData("""{"url":42,"occurredAt":"2026-12-03T10:00:00Z","visitorId":"v"}""", "'url' does not have the expected type or form.")]
    [InlineData("""{"url":"https://x/","visitorId":{"a":1}}""", "'visitorId' does not have the expected type or form.")]
    public void a_malformed_field_is_described_in_plain_words_with_its_name(string json, string expected)
    {
        var e = Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<BatchViewItem>(json, JsonBody.Options));

        var described = JsonBody.Describe(e);

        Assert.StartsWith(expected, described);
        Assert.DoesNotContain("BytePosition", described);
        Assert.DoesNotContain("LineNumber", described);
    }

    [Fact]
    public void a_body_that_is_not_json_is_said_to_be_so()
    {
        var e = Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<BatchViewItem>("{\"url\": nope}", JsonBody.Options));

        Assert.StartsWith("The body is not well-formed JSON", JsonBody.Describe(e));
    }

    [Theory]
    [InlineData("Asia/Ho_Chi_Minh", true)]
    [InlineData("Europe/Berlin", true)]
    [InlineData("UTC", true)]
    [InlineData("SE Asia Standard Time", false)]
    [InlineData("W. Europe Standard Time", false)]
    [InlineData("Mars/Olympus_Mons", false)]
    [InlineData("Asia/Ho_Chi_Minh\0", false)]
    public void only_iana_zone_ids_are_time_zones_of_a_site(string id, bool valid)
    {
        Assert.Equal(valid, PutSite.IsIanaZone(id));
    }

    public static TheoryData<long, bool> Figures => new()
    {
        { 0, true },
        { BaselineCounts.Max, true },
        { BaselineCounts.Max + 1, false },
        { long.MaxValue, false },
        { -1, false },
        { -5, false },
    };

    [Theory]
    [MemberData(nameof(Figures))]
    public void baseline_figures_are_bounded_and_never_negative(long figure, bool valid)
    {
        var figures = new BaselineFigures(figure, figure, figure, figure, figure);
        var errors = RecordBaseline.Validate(new BaselineRequest(DateTimeOffset.UtcNow, figures, figures), DateTimeOffset.UtcNow);

        Assert.Equal(valid, errors.Count == 0);
    }

    [Fact]
    public void a_week_above_the_total_is_inconsistent()
    {
        var views = new BaselineFigures(1, 50, 10, 20, 30);
        var errors = RecordBaseline.Validate(new BaselineRequest(DateTimeOffset.UtcNow, views, views), DateTimeOffset.UtcNow);

        Assert.Contains("week > total", errors["pageViews"][0]);
    }
}
