using CCHC.Stats.Api.Traffic;
using CsCheck;

namespace CCHC.Stats.Tests;

/// <summary>Where a visit came from, as the contract names it (<see cref="VisitSource"/>).</summary>
public sealed class VisitSourceTests
{
    private const string Page = "https://bacgiang.gov.vn/tin-tuc/cchc-123";

    [Theory]
    // Google, by any of its country domains and its app.
    [InlineData("https://www.google.com/", "google")]
    [InlineData("https://www.google.com.vn/", "google")]
    [InlineData("https://google.co.uk/search?q=x", "google")]
    [InlineData("https://www.google.de/", "google")]
    [InlineData("https://news.google.com/articles/abc", "google")]
    [InlineData("android-app://com.google.android.googlequicksearchbox/", "google")]
    [InlineData("android-app://com.google.android.gm", "google")]
    // Vietnamese readers' engines and networks.
    [InlineData("https://coccoc.com/search?query=cchc", "coccoc")]
    [InlineData("https://search.coccoc.com/", "coccoc")]
    [InlineData("https://www.bing.com/search?q=x", "bing")]
    [InlineData("https://cn.bing.com/", "bing")]
    [InlineData("https://www.facebook.com/", "facebook")]
    [InlineData("https://l.facebook.com/l.php?u=https%3A%2F%2Fbacgiang.gov.vn", "facebook")]
    [InlineData("https://m.facebook.com/", "facebook")]
    [InlineData("https://lm.facebook.com/", "facebook")]
    [InlineData("android-app://com.facebook.katana", "facebook")]
    [InlineData("https://zalo.me/g/abc", "zalo")]
    [InlineData("https://chat.zalo.me/", "zalo")]
    [InlineData("android-app://com.zing.zalo", "zalo")]
    [InlineData("https://www.youtube.com/watch?v=x", "youtube")]
    [InlineData("https://m.youtube.com/", "youtube")]
    [InlineData("https://youtu.be/x", "youtube")]
    [InlineData("https://www.tiktok.com/@x", "tiktok")]
    [InlineData("https://baomoi.com/a.epi", "baomoi")]
    [InlineData("https://t.co/abc", "x")]
    [InlineData("https://chatgpt.com/", "chatgpt")]
    // Other referrers by host, lower case, without www.
    [InlineData("https://WWW.BaoChinhPhu.vn/a", "baochinhphu.vn")]
    [InlineData("https://sotttt.bacgiang.gov.vn/", "sotttt.bacgiang.gov.vn")]
    [InlineData("https://googleapis.com/", "googleapis.com")]
    [InlineData("https://google.example.org/", "google.example.org")]
    [InlineData("https://notfacebook.com/", "notfacebook.com")]
    [InlineData("https://xn--c-hia.vn/", "xn--c-hia.vn")]
    // Direct: none, unreadable, not the web, or the page's own host.
    [InlineData(null, "direct")]
    [InlineData("", "direct")]
    [InlineData("   ", "direct")]
    [InlineData("not a url", "direct")]
    [InlineData("/relative/path", "direct")]
    [InlineData("javascript:alert(1)", "direct")]
    [InlineData("file:///etc/passwd", "direct")]
    [InlineData("https://bacgiang.gov.vn/", "direct")]
    [InlineData("https://www.bacgiang.gov.vn/tin-tuc", "direct")]
    [InlineData("http://BACGIANG.gov.vn./a", "direct")]
    public void a_referrer_is_named_as_the_documented_table_says(string? referrer, string expected)
    {
        Assert.Equal(expected, VisitSource.Of(referrer, Page));
    }

    [Fact]
    public void any_text_gives_a_short_name_and_never_throws()
    {
        Gen.String.Sample(text =>
        {
            var source = VisitSource.Of(text, Page);
            Assert.False(string.IsNullOrWhiteSpace(source));
            Assert.True(source.Length <= 255, source);
        });
        Gen.String.Sample(host =>
        {
            var source = VisitSource.Of($"https://{host}/a", host);
            Assert.False(string.IsNullOrWhiteSpace(source));
        });
    }
}
