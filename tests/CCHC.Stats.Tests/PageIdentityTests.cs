using System.Text;
using CCHC.Stats.Api.Pages;
using CsCheck;

namespace CCHC.Stats.Tests;

/// <summary>The page of a URL, as the contract defines it (<see cref="PageIdentity"/>).</summary>
public sealed class PageIdentityTests
{
    [Theory]
    // Scheme, host, fragment and trailing slash.
    [InlineData("https://bacgiang.gov.vn/tin-tuc/cchc-123", "/tin-tuc/cchc-123")]
    [InlineData("http://www.bacgiang.gov.vn/tin-tuc/cchc-123/", "/tin-tuc/cchc-123")]
    [InlineData("https://bacgiang.gov.vn/tin-tuc/cchc-123#binh-luan", "/tin-tuc/cchc-123")]
    [InlineData("https://bacgiang.gov.vn", "/")]
    [InlineData("https://bacgiang.gov.vn/", "/")]
    [InlineData("https://bacgiang.gov.vn/?", "/")]
    [InlineData("https://bacgiang.gov.vn/a//", "/a")]
    [InlineData("https://bacgiang.gov.vn/a/./b/../c", "/a/c")]
    [InlineData("https://bacgiang.gov.vn//evil.test/a", "/evil.test/a")]
    [InlineData("https://bacgiang.gov.vn/a//b", "/a/b")]
    // Tracking parameters dropped, others sorted by name then value.
    [InlineData("https://bacgiang.gov.vn/a?utm_source=zalo&utm_medium=social&id=5", "/a?id=5")]
    [InlineData("https://bacgiang.gov.vn/a?fbclid=IwAR0abc", "/a")]
    [InlineData("https://bacgiang.gov.vn/a?gclid=x&zarsrc=30&gidzl=abc&UTM_Campaign=y", "/a")]
    [InlineData("https://bacgiang.gov.vn/a?b=2&a=1", "/a?a=1&b=2")]
    [InlineData("https://bacgiang.gov.vn/a?a=2&a=1", "/a?a=1&a=2")]
    [InlineData("https://bacgiang.gov.vn/a?&&b=2&", "/a?b=2")]
    [InlineData("https://bacgiang.gov.vn/a?flag", "/a?flag")]
    [InlineData("https://bacgiang.gov.vn/a?flag=", "/a?flag=")]
    // Percent-encoding: decoded where it changes nothing, kept where it does.
    [InlineData("https://bacgiang.gov.vn/tin-t%E1%BB%A9c/a", "/tin-tức/a")]
    [InlineData("https://bacgiang.gov.vn/tin-t%e1%bb%a9c/a", "/tin-tức/a")]
    [InlineData("https://bacgiang.gov.vn/tin-tức/a", "/tin-tức/a")]
    [InlineData("https://bacgiang.gov.vn/%7Euser/%41", "/~user/A")]
    [InlineData("https://bacgiang.gov.vn/a%2Fb/c", "/a%2Fb/c")]
    [InlineData("https://bacgiang.gov.vn/a%20b", "/a%20b")]
    [InlineData("https://bacgiang.gov.vn/100%25", "/100%25")]
    [InlineData("https://bacgiang.gov.vn/s?q=a+b", "/s?q=a%20b")]
    [InlineData("https://bacgiang.gov.vn/s?q=a%20b", "/s?q=a%20b")]
    [InlineData("https://bacgiang.gov.vn/s?q=a%26b", "/s?q=a%26b")]
    [InlineData("https://bacgiang.gov.vn/s?q=c%E1%BA%A3i%20c%C3%A1ch", "/s?q=cải%20cách")]
    [InlineData("https://bacgiang.gov.vn/s?q=%zz", "/s?q=%25zz")]
    [InlineData("https://bacgiang.gov.vn/%ED%A0%80", "/%25ED%25A0%2580")]
    public void A_url_has_one_page(string url, string page) => Assert.Equal(page, PageIdentity.Of(url));

    [Fact]
    public void A_path_typed_with_decomposed_diacritics_is_the_page_typed_with_composed_ones()
    {
        const string composed = "https://bacgiang.gov.vn/tin-tức/cải-cách-hành-chính?chủ-đề=đô-thị";
        var decomposed = composed.Normalize(NormalizationForm.FormD);
        Assert.NotEqual(composed, decomposed);
        Assert.Equal(PageIdentity.Of(composed), PageIdentity.Of(decomposed));
        Assert.Equal(PageIdentity.Of(composed), PageIdentity.Of(new Uri(decomposed).AbsoluteUri));
        Assert.Equal("/tin-tức/cải-cách-hành-chính?chủ-đề=đô-thị", PageIdentity.Of(composed));
    }

    [Fact]
    public void Every_allowed_host_of_a_site_gives_the_same_page()
    {
        var pages = new[] { "https://bacgiang.gov.vn/a", "https://www.bacgiang.gov.vn/a/", "http://sonoivu.bacgiang.gov.vn/a?utm_source=x" }
            .Select(PageIdentity.Of).Distinct();
        Assert.Single(pages);
    }

    [Fact]
    public void A_page_too_long_for_the_key_keeps_its_start_and_a_hash_of_the_whole()
    {
        var a = "https://bacgiang.gov.vn/" + string.Concat(Enumerable.Repeat("%E1%BB%A9", 220)) + "a";
        var b = "https://bacgiang.gov.vn/" + string.Concat(Enumerable.Repeat("%E1%BB%A9", 220)) + "b";
        var (pageA, pageB) = (PageIdentity.Of(a), PageIdentity.Of(b));
        Assert.True(Encoding.UTF8.GetByteCount(pageA) <= PageIdentity.MaxBytes);
        Assert.StartsWith("/ứứứ", pageA);
        Assert.NotEqual(pageA, pageB);
        Assert.Equal(pageA, PageIdentity.Of(a));
    }

    [Fact]
    public void Any_url_has_a_page_that_is_its_own_page()
    {
        // Whatever the path and query, the page is found without failing, is bounded, starts at the root, and is a fixed
        // point: the page of a URL made of a page is that page (one form).
        var text = Gen.String[Gen.Char["abcAZ09-_.~%/?&=+#ứảđ \u0301"], 0, 60];
        text.Sample(path =>
        {
            var url = "https://bacgiang.gov.vn/" + path;
            if (!Uri.TryCreate(url, UriKind.Absolute, out _))
            {
                return;
            }

            var page = PageIdentity.Of(url);
            Assert.StartsWith("/", page, StringComparison.Ordinal);
            Assert.True(Encoding.UTF8.GetByteCount(page) <= PageIdentity.MaxBytes);
            Assert.Equal(page, PageIdentity.Of("https://bacgiang.gov.vn" + page));
        });
    }
}
