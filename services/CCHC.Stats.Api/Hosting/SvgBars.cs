using System.Globalization;
using System.Net;
using System.Text;

namespace CCHC.Stats.Api.Hosting;

/// <summary>
/// An inline SVG bar chart, for the pages the service renders itself (the dashboard, the statistics page): one bar an
/// interval, scaled to the largest, each bar's figure in its tooltip, about sixteen labels under the bars. Colours come
/// from the page's CSS (<c>svg .bar</c>, <c>svg .axis</c>), so night mode is the page's.
/// </summary>
public static class SvgBars
{
    public static void Append(StringBuilder html, string id, string title, IReadOnlyList<(string Label, long Value)> bars, Func<long, string> number)
    {
        const int width = 760, height = 160, top = 18;
        var slot = (double)width / Math.Max(1, bars.Count);
        var max = Math.Max(1, bars.Count == 0 ? 0 : bars.Max(b => b.Value));
        var every = (int)Math.Ceiling(bars.Count / 16.0);
        html.Append(CultureInfo.InvariantCulture,
            $"<svg id=\"{id}\" viewBox=\"0 0 {width} {height + top + 18}\" role=\"img\" aria-label=\"{Encode(title)}\">");
        html.Append(CultureInfo.InvariantCulture, $"<text x=\"0\" y=\"12\" class=\"axis\">max {number(max)}</text>");
        for (var i = 0; i < bars.Count; i++)
        {
            var h = bars[i].Value * (double)height / max;
            html.Append(CultureInfo.InvariantCulture,
                $"<rect class=\"bar\" x=\"{i * slot + 1:0.#}\" y=\"{top + height - h:0.#}\" width=\"{Math.Max(1, slot - 2):0.#}\" height=\"{h:0.#}\"><title>{Encode(bars[i].Label)}: {number(bars[i].Value)}</title></rect>");
            if (i % every == 0)
            {
                html.Append(CultureInfo.InvariantCulture,
                    $"<text x=\"{(i == 0 ? 0 : i * slot + slot / 2):0.#}\" y=\"{top + height + 14}\" class=\"axis\" text-anchor=\"{(i == 0 ? "start" : "middle")}\">{Encode(bars[i].Label)}</text>");
            }
        }

        html.Append("</svg>");
    }

    private static string Encode(string text) => WebUtility.HtmlEncode(text);
}
