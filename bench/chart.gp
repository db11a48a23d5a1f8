# chart.gp — the PNG of bench/run.sh: one panel per measurement, bars are medians,
# whiskers the 10th-90th percentiles of timings and the min-max of RSS samples. Called as:
#   gnuplot -e "datafile='latest.dat'; outfile='latest.png'; loopn='100'" chart.gp
# The blocks of datafile (written by report.py) come in the order of `titles`.
set terminal pngcairo size 1600,800 font ",10"
set output outfile
if (!exists("loopn")) loopn = "100"
titles = "'run /bin/true (ms)' 'create+start+delete -f (ms)' 'state (ms)' 'exec /bin/true (ms)' '".loopn." x run (s)' 'peak RSS of run (MiB)' 'smallest memory.limit (MiB)' 'binary size (MiB)'"
set multiplot layout 2,4 title "husk vs crun vs runc: medians; whiskers 10th-90th percentile (timings), min-max (RSS)"
set style fill solid 0.7 border -1
set boxwidth 0.6
set yrange [0:*]
set grid ytics
set xrange [-0.6:*]
unset key
set linetype 1 lc rgb "#2a7ab0"
set linetype 2 lc rgb "#d98c1f"
set linetype 3 lc rgb "#5aa02c"
set linetype 4 lc rgb "#909090"
do for [i=0:7] {
	set title word(titles, i + 1)
	plot datafile index i using 0:2:($0 + 1):xtic(1) with boxes lc variable, \
	     '' index i using 0:2:3:4 with yerrorbars lc rgb "black" ps 0
}
unset multiplot
