package dev.pocketsr.app

import android.content.Context
import android.graphics.Bitmap
import android.graphics.Canvas
import android.graphics.Color
import android.graphics.Paint
import android.graphics.Rect
import android.graphics.RectF
import android.util.AttributeSet
import android.view.View

/**
 * The x4 model output beside a bilinear x4 of the same input, split at [split] (0..1): left of the
 * line the bilinear image, right of it the model output. Both have the output's size and are drawn
 * into the same rectangle (aspect kept) with the same Paint, so the display scaling treats them alike.
 */
class ComparisonView(context: Context, attrs: AttributeSet?) : View(context, attrs) {
    private val paint = Paint(Paint.FILTER_BITMAP_FLAG)
    private val line = Paint()
    private val dst = RectF()
    private val clip = Rect()
    private var left: Bitmap? = null
    private var right: Bitmap? = null

    var split: Float = 0.5f
        set(value) {
            field = value.coerceIn(0f, 1f)
            invalidate()
        }

    init {
        line.color = Color.WHITE
        line.strokeWidth = 3f
    }

    /** Call on the UI thread; the bitmaps must not be written while this view shows them. */
    fun show(bilinear: Bitmap, model: Bitmap) {
        left = bilinear
        right = model
        invalidate()
    }

    override fun onDraw(canvas: Canvas) {
        super.onDraw(canvas)
        val low = left ?: return
        val high = right ?: return
        val scale = minOf(width.toFloat() / high.width, height.toFloat() / high.height)
        val w = high.width * scale
        val h = high.height * scale
        dst.set((width - w) / 2f, (height - h) / 2f, (width + w) / 2f, (height + h) / 2f)
        val x = dst.left + w * split
        clip.set(dst.left.toInt(), dst.top.toInt(), x.toInt(), dst.bottom.toInt())
        canvas.save()
        canvas.clipRect(clip)
        canvas.drawBitmap(low, null, dst, paint)
        canvas.restore()
        clip.set(x.toInt(), dst.top.toInt(), dst.right.toInt(), dst.bottom.toInt())
        canvas.save()
        canvas.clipRect(clip)
        canvas.drawBitmap(high, null, dst, paint)
        canvas.restore()
        canvas.drawLine(x, dst.top, x, dst.bottom, line)
    }
}
