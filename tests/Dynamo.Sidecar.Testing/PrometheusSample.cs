using System.Globalization;
using System.Text;

namespace Dynamo.Sidecar.Testing;

/// <summary>
/// One sample line of the Prometheus text exposition: name, labels (unescaped), value. Shared by the tests'
/// <c>MetricsText</c> and the soak tool (linked into it), so both read <c>/metrics</c> the same way.
/// </summary>
internal static class PrometheusSample
{
    /// <returns>False for comments, <c># HELP</c>/<c># TYPE</c> lines and blank lines.</returns>
    public static bool TryParse(string line, out string name, out Dictionary<string, string> labels, out double value)
    {
        name = "";
        labels = new Dictionary<string, string>(StringComparer.Ordinal);
        value = 0;
        if (line.Length == 0 || line[0] == '#')
        {
            return false;
        }

        var brace = line.IndexOf('{', StringComparison.Ordinal);
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        string tail;
        if (brace < 0 || (space >= 0 && space < brace))
        {
            name = line[..space];
            tail = line[space..];
        }
        else
        {
            name = line[..brace];
            var i = brace + 1;
            while (line[i] != '}')
            {
                var eq = line.IndexOf('=', i);
                var labelName = line[i..eq];
                i = eq + 2; // skip ="
                var labelValue = new StringBuilder();
                while (line[i] != '"')
                {
                    if (line[i] == '\\')
                    {
                        i++;
                        labelValue.Append(line[i] == 'n' ? '\n' : line[i]);
                    }
                    else
                    {
                        labelValue.Append(line[i]);
                    }

                    i++;
                }

                labels[labelName] = labelValue.ToString();
                i++; // closing quote
                if (line[i] == ',')
                {
                    i++;
                }
            }

            tail = line[(i + 1)..];
        }

        var number = tail.Trim().Split(' ')[0];
        value = number switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            _ => double.Parse(number, CultureInfo.InvariantCulture),
        };
        return true;
    }
}
